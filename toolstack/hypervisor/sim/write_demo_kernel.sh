#!/bin/sh
# Writes the simulator's demo kernel to $1: the 64-byte header of an x86-64 ELF executable
# (ELFCLASS64, little-endian, ET_EXEC, EM_X86_64), then a note saying what the file is.
set -eu
{
  printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000'
  printf '\002\000\076\000\001\000\000\000'
  head -c 40 /dev/zero
  printf 'txend demo kernel: boots on the simulated hypervisor only, not on Xen.\n'
} > "$1.tmp"
mv "$1.tmp" "$1"
