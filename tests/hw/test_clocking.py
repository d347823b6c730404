"""The reset a PLL's clock domain gets (hwgen.hw.clocking.LockReset), in Amaranth's
simulator: held while the PLL is unlocked and for the settle cycles after it locks,
raised again when the lock is lost."""

from amaranth.sim import Simulator

from hwgen.hw.clocking import LockReset


def trace(settle: int, locked: list[int]) -> list[int]:
    """``rst`` after each clock edge, with ``locked`` set before each edge."""
    dut = LockReset(settle)
    seen = []

    async def bench(ctx):
        seen.append(ctx.get(dut.rst))
        for value in locked:
            ctx.set(dut.locked, value)
            await ctx.tick()
            seen.append(ctx.get(dut.rst))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return seen


def test_reset_holds_until_lock_and_falls_at_the_settle_plus_first_locked_edge():
    # the initial value and 3 unlocked edges: 1; locked edge k counts the timer to k, and
    # edge 5, finding it at settle = 4, sets ready: reset falls there
    got = trace(4, [0, 0, 0] + [1] * 8)
    assert got == [1] + [1] * 3 + [1] * 4 + [0] * 4


def test_a_lost_lock_raises_reset_at_the_next_edge_and_settles_again():
    got = trace(2, [1] * 4 + [0] + [1] * 4)
    # settle 2: reset falls at the third locked edge; the unlocked edge raises it, and it
    # falls again at the third locked edge after that
    assert got == [1, 1, 1, 0, 0, 1, 1, 1, 0, 0]  # initial, 4 locked, unlocked, 4 locked
