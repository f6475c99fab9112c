// The Xen 4.17 C headers (libxenctrl, libxenguest, libxentoollog), included
// with C linkage. They need GNU extensions: targets that include this file
// build with CXX_EXTENSIONS ON.
#pragma once

// xc_map_foreign_range (hvmloader's info page) is in libxenctrl's compat API.
#define XC_WANT_COMPAT_MAP_FOREIGN_API 1
extern "C" {
#include <xenctrl.h>
#include <xenguest.h>
#include <xentoollog.h>

#include <xen/hvm/e820.h>
#include <xen/hvm/hvm_info_table.h>
#include <xen/hvm/params.h>
}
