# {{generated}}
# Vivado: vivado -mode batch -source build.tcl
# The PYNQ-Z2 overlay: Zynq PS (FCLK0 {{clock_mhz}} MHz, HP0) -> AXI DMA -> the
# accelerator IP -> back through the DMA. Writes {{project}}.bit and {{project}}.hwh
# beside this script, which the PYNQ driver ({{project}}.py) loads.
set here [file dirname [file normalize [info script]]]
source $here/package_ip.tcl
create_project {{project}} $here/project -part {{part}} -force
set_property ip_repo_paths $here/ip_repo [current_project]
update_ip_catalog
create_bd_design {{project}}
set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7 ps7]
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
    -config {make_external "FIXED_IO, DDR" apply_board_preset "0"} $ps
set_property -dict [list CONFIG.PCW_USE_S_AXI_HP0 {1} \
    CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {{{clock_mhz}}}] $ps
set dma [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma axi_dma]
set_property -dict [list CONFIG.c_include_sg {0} CONFIG.c_sg_length_width {26} \
    CONFIG.c_m_axis_mm2s_tdata_width {{{in_word}}} CONFIG.c_s_axis_s2mm_tdata_width {{{out_word}}} \
    CONFIG.c_mm2s_burst_size {16} CONFIG.c_s2mm_burst_size {16}] $dma
set accel [create_bd_cell -type ip -vlnv hwgen.org:user:{{ip_name}}:1.0 accel]
connect_bd_intf_net [get_bd_intf_pins axi_dma/M_AXIS_MM2S] [get_bd_intf_pins accel/s_axis]
connect_bd_intf_net [get_bd_intf_pins accel/m_axis] [get_bd_intf_pins axi_dma/S_AXIS_S2MM]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Master "/ps7/M_AXI_GP0" Clk "Auto"} [get_bd_intf_pins axi_dma/S_AXI_LITE]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Slave "/ps7/S_AXI_HP0" Clk "Auto"} [get_bd_intf_pins axi_dma/M_AXI_MM2S]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Slave "/ps7/S_AXI_HP0" Clk "Auto"} [get_bd_intf_pins axi_dma/M_AXI_S2MM]
connect_bd_net [get_bd_pins ps7/FCLK_CLK0] [get_bd_pins accel/aclk]
connect_bd_net [get_bd_pins [get_bd_cells -filter {VLNV =~ *proc_sys_reset*}]/peripheral_aresetn] \
    [get_bd_pins accel/aresetn]
validate_bd_design
save_bd_design
make_wrapper -files [get_files {{project}}.bd] -top -import
set_property top {{project}}_wrapper [current_fileset]
launch_runs impl_1 -to_step write_bitstream -jobs 4
wait_on_run impl_1
set run [get_property DIRECTORY [get_runs impl_1]]
file copy -force $run/{{project}}_wrapper.bit $here/{{project}}.bit
file copy -force [glob $here/project/{{project}}.gen/sources_1/bd/{{project}}/hw_handoff/*.hwh] \
    $here/{{project}}.hwh
