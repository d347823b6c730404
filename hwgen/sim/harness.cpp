// hwgen's compiled bench: drives a Verilated top with the beats and the seeded stalls of
// hwgen.sim.stalls, records every handshake, and writes what came out. Same protocol and
// cycle semantics as the cocotb bench (hwgen/sim/bench.py); the host checks the results.
//
//   Vdut CONFIG RESULT [PROGRESS]
//
// CONFIG (whitespace separated): words_in words_out n_in n_out max_cycles drain phases,
// then per phase: name p_in p_out seed_in seed_out; then n_in beats of words_in hex words,
// least significant word first. RESULT: per phase "phase NAME", "in" and the handshake
// cycle of every input beat, "out" and (cycle, words...) of every output beat, "extra N";
// a phase that times out is written with the beats that arrived, then "error TEXT".
// PROGRESS, while it runs: "PHASE BEATS", the phase's index and its output beats so far,
// replaced whole about every 0.2 s and at the end of each phase.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "Vdut.h"
#include "verilated.h"

namespace {

struct Stalls {  // SplitMix64, as hwgen.sim.stalls.Stalls
    uint64_t state;
    double p;
    bool draw() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        return static_cast<double>(z >> 11) / 9007199254740992.0 < p;
    }
    uint64_t run() {
        uint64_t n = 0;
        while (draw()) ++n;
        return n;
    }
};

template <typename T> void put(T& port, const uint32_t* w) {
    port = static_cast<T>((static_cast<uint64_t>(w[1]) << 32) | w[0]);
}
template <std::size_t N> void put(VlWide<N>& port, const uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) port[i] = w[i];
}
template <typename T> void get(const T& port, uint32_t* w) {
    const uint64_t v = port;
    w[0] = static_cast<uint32_t>(v);
    w[1] = static_cast<uint32_t>(v >> 32);
}
template <std::size_t N> void get(const VlWide<N>& port, uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) w[i] = port[i];
}

struct Progress {  // the host reads the file while we run: written aside, then renamed
    const char* path;
    std::chrono::steady_clock::time_point said = std::chrono::steady_clock::now();
    void write(std::size_t phase, std::size_t beats) {
        if (!path) return;
        const std::string tmp = std::string(path) + ".tmp";
        if (FILE* f = std::fopen(tmp.c_str(), "w")) {
            std::fprintf(f, "%zu %zu\n", phase, beats);
            if (std::fclose(f) == 0) std::rename(tmp.c_str(), path);
        }
        said = std::chrono::steady_clock::now();
    }
    void tick(std::size_t phase, std::size_t beats) {
        if (std::chrono::steady_clock::now() - said > std::chrono::milliseconds(200))
            write(phase, beats);
    }
};

struct Bench {
    Vdut* top;
    void half(int clk) {
        top->clk = clk;
        top->eval();
    }
    void edge() {  // inputs are set and settled at clk = 0 (the next half(0) falls)
        half(1);
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: %s CONFIG RESULT [PROGRESS]\n", argv[0]);
        return 2;
    }
    std::ifstream cfg(argv[1]);
    std::size_t wi, wo, n_in, n_out, phases;
    uint64_t max_cycles, drain;
    cfg >> wi >> wo >> n_in >> n_out >> max_cycles >> drain >> phases;
    struct Phase {
        std::string name;
        double p_in, p_out;
        uint64_t seed_in, seed_out;
    };
    std::vector<Phase> ph(phases);
    for (auto& p : ph) cfg >> p.name >> p.p_in >> p.p_out >> p.seed_in >> p.seed_out;
    std::vector<uint32_t> beats(n_in * wi);
    for (auto& w : beats) cfg >> std::hex >> w;
    if (!cfg) {
        std::fprintf(stderr, "%s: malformed\n", argv[1]);
        return 2;
    }
    FILE* out = std::fopen(argv[2], "w");
    if (!out) return 2;

    VerilatedContext ctx;
    Vdut top{&ctx};
    Bench b{&top};
    std::vector<uint32_t> word(wo < 2 ? 2 : wo);
    Progress progress{argc == 4 ? argv[3] : nullptr};
    for (std::size_t k = 0; k < ph.size(); ++k) {
        const auto& p = ph[k];
        top.s_axis_tvalid = 0;
        top.m_axis_tready = 0;
        top.rst = 1;
        for (int k = 0; k < 3; ++k) {
            b.half(0);
            b.edge();
        }
        top.rst = 0;
        Stalls src{p.seed_in, p.p_in}, snk{p.seed_out, p.p_out};
        std::vector<uint64_t> in_cycles;
        std::vector<std::pair<uint64_t, std::vector<uint32_t>>> got;
        std::size_t sent = 0;
        uint64_t idle = n_in ? src.run() : 0, cycle = 0;
        bool timeout = false;
        while (got.size() < n_out || sent < n_in) {
            const bool valid = sent < n_in && idle == 0;
            const bool receiving = got.size() < n_out;
            const bool ready = receiving && !snk.draw();
            top.s_axis_tvalid = valid;
            if (valid) put(top.s_axis_tdata, &beats[sent * wi]);
            top.m_axis_tready = ready;
            b.half(0);
            const bool s_hs = valid && top.s_axis_tready;
            if (ready && top.m_axis_tvalid) {
                get(top.m_axis_tdata, word.data());
                got.emplace_back(cycle + 1, std::vector<uint32_t>(word.begin(), word.begin() + wo));
            }
            b.edge();
            ++cycle;
            if ((cycle & 4095) == 0) progress.tick(k, got.size());
            if (s_hs) {
                in_cycles.push_back(cycle);
                if (++sent < n_in) idle = src.run();
            } else if (!valid && sent < n_in) {
                --idle;
            }
            if (receiving && cycle > max_cycles) {
                timeout = true;
                break;
            }
        }
        progress.write(k, got.size());
        top.s_axis_tvalid = 0;
        top.m_axis_tready = 1;
        uint64_t extra = 0;
        for (uint64_t k = 0; !timeout && k < drain; ++k) {
            b.half(0);
            extra += top.m_axis_tvalid;
            b.edge();
        }
        std::fprintf(out, "phase %s\nin", p.name.c_str());
        for (auto c : in_cycles) std::fprintf(out, " %llu", static_cast<unsigned long long>(c));
        std::fprintf(out, "\nout %zu\n", got.size());
        for (const auto& [c, ws] : got) {
            std::fprintf(out, "%llu", static_cast<unsigned long long>(c));
            for (auto w : ws) std::fprintf(out, " %x", w);
            std::fputc('\n', out);
        }
        std::fprintf(out, "extra %llu\n", static_cast<unsigned long long>(extra));
        if (timeout) {  // the beats that arrived are recorded above: the host names the rest
            std::fprintf(out, "error phase %s: received %zu of %zu beats in %llu cycles\n",
                         p.name.c_str(), got.size(), n_out,
                         static_cast<unsigned long long>(max_cycles));
            break;
        }
    }
    top.final();
    return std::fclose(out) == 0 ? 0 : 1;
}
