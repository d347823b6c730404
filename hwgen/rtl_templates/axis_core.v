// {{generated}}
// The accelerator as an AXI4-Stream IP for an AXI DMA: active-low reset, stream words
// of the DMA's width (the core's tdata in the low bits), and TLAST on the last output
// beat of each frame ({{out_beats}} beats), which ends the DMA's receive transfer.
module {{ip_name}} (
    input  wire                   aclk,
    input  wire                   aresetn,
    input  wire [{{in_word}}-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    input  wire                   s_axis_tlast,   // ignored: frames are counted
    output wire [{{out_word}}-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,
    output wire                   m_axis_tlast
);
    wire [{{out_bits}}-1:0] out_data;
    reg  [{{count_bits}}-1:0] beat = 0;
    wire out_take = m_axis_tvalid & m_axis_tready;

    {{core}} core (
        .clk(aclk), .rst(~aresetn),
        .s_axis_tdata(s_axis_tdata[{{in_bits}}-1:0]), .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready),
        .m_axis_tdata(out_data), .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );

    assign m_axis_tdata = {{out_pad}};
    assign m_axis_tlast = beat == {{out_beats}} - 1;
    always @(posedge aclk)
        if (!aresetn) beat <= 0;
        else if (out_take) beat <= m_axis_tlast ? 0 : beat + 1;
endmodule
