# {{generated}}
# Packages the accelerator ({{ip_name}}.v and the core) as an AXI4-Stream IP in ip_repo/.
set here [file dirname [file normalize [info script]]]
create_project -in_memory -part {{part}}
add_files -norecurse [list $here/{{core_verilog}} $here/{{ip_name}}.v]
set_property top {{ip_name}} [current_fileset]
update_compile_order -fileset sources_1
ipx::package_project -root_dir $here/ip_repo -vendor hwgen.org -library user \
    -taxonomy /UserIP -import_files -set_current true
set core [ipx::current_core]
set_property name {{ip_name}} $core
set_property version 1.0 $core
set_property display_name "hwgen {{project}}" $core
set_property description "{{description}}" $core
ipx::infer_bus_interfaces xilinx.com:interface:axis_rtl:1.0 $core
ipx::associate_bus_interfaces -busif s_axis -clock aclk $core
ipx::associate_bus_interfaces -busif m_axis -clock aclk $core
ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::save_core $core
close_project
