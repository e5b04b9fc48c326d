module connrefuse.dev/example

go 1.19

require connrefuse.dev/connrefuse v0.0.0

replace connrefuse.dev/connrefuse => ../../helpers/go/connrefuse
