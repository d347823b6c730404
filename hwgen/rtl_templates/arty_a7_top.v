// {{generated}}
// Arty A7 top: the hwgen board top (accelerator + UART host link) on the board's
// 100 MHz oscillator, its USB-UART and two LEDs; the red RESET button resets it.
module arty_a7_top (
    input  wire       CLK100MHZ,
    input  wire       ck_rst,        // active low
    input  wire       uart_txd_in,   // from the host (FTDI TX)
    output wire       uart_rxd_out,  // to the host (FTDI RX)
    output wire [1:0] led
);
    reg [1:0] rst_sync = 2'b11;      // synchronous reset, released on the clock
    always @(posedge CLK100MHZ) rst_sync <= {rst_sync[0], ~ck_rst};

    {{board_top}} core (
        .clk(CLK100MHZ), .rst(rst_sync[1]),
        .uart_rx(uart_txd_in), .uart_tx(uart_rxd_out), .leds(led)
    );
endmodule
