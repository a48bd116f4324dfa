module cms-daq-simple-app

// 1.19 is the workshop's Go version; newer toolchains build this module unchanged.
go 1.19
