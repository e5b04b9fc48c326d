module connrefuse.dev/connrefuse

go 1.19
