// The Xen 4.17 C headers (libxenctrl, libxenguest, libxentoollog), included
// with C linkage. They need GNU extensions: targets that include this file
// build with CXX_EXTENSIONS ON.
#pragma once

extern "C" {
#include <xenctrl.h>
#include <xenguest.h>
#include <xentoollog.h>
}
