#!/bin/sh
# docker run: the same as compose.yaml, one command. An unmodified image;
# the library and the rules mounted read-only (make bundle first).
#   sh examples/fleet/docker-run.sh myapp:latest [COMMAND...]
image=${1:?usage: docker-run.sh IMAGE [COMMAND...]}
shift
exec docker run --rm \
	-v "$PWD/build/bundle:/opt/connrefuse:ro" \
	-v "$PWD/examples/fleet:/etc/connrefuse:ro" \
	-v /dev/log:/dev/log \
	-e 'LD_PRELOAD=/opt/connrefuse/$PLATFORM/libconnrefuse.so' \
	-e CONNREFUSE_CONFIG=/etc/connrefuse/rules.cfg \
	"$image" "$@"
