#!/bin/bash
# store_crash.sh with ternd's XDP program attached to lo (see with_xdp.sh).
exec "$(dirname "$0")/with_xdp.sh" store_crash.sh
