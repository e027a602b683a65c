#!/bin/bash
# Record when the launcher starts (ns since the epoch), then become it.
date +%s%N > launched
exec "$@"
