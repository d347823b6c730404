# {{generated}}
# Vivado: vivado -mode batch -source build.tcl
# Creates the project next to this script, synthesizes, implements and writes
# arty_a7_top.bit; reports land in reports/.
set here [file dirname [file normalize [info script]]]
create_project {{project}} $here/project -part {{part}} -force
add_files -norecurse [list $here/board_top.v $here/arty_a7_top.v]
add_files -fileset constrs_1 -norecurse $here/arty_a7.xdc
set_property top arty_a7_top [current_fileset]
launch_runs synth_1 -jobs 4
wait_on_run synth_1
launch_runs impl_1 -to_step write_bitstream -jobs 4
wait_on_run impl_1
open_run impl_1
file mkdir $here/reports
report_utilization -file $here/reports/utilization.txt
report_timing_summary -file $here/reports/timing.txt
file copy -force [get_property DIRECTORY [get_runs impl_1]]/arty_a7_top.bit $here/arty_a7_top.bit
