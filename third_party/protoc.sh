#!/bin/sh
# Debian's protoc, as @com_google_protobuf//:protoc.
exec /usr/bin/protoc "$@"
