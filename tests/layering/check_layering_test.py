#!/usr/bin/env python3
"""scripts/check_layering.py on small generated trees: it passes a clean tree and fails,
naming file and line, on an upward or sideways include, a source in an unlisted folder and
an include of a missing header. Usage: check_layering_test.py PATH/TO/check_layering.py"""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

CHECKER = None  # set from argv in main
TABLE = "# Architecture\n\n## Layering\n```layering\n0 low\n1 high side\n```\n"


class CheckLayeringTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)
        self.write("docs/ARCHITECTURE.md", TABLE)
        self.write("low/a.h", "#pragma once\n")
        self.write("high/b.h", '#pragma once\n#include "low/a.h"\n')

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, path, text):
        (self.root / path).parent.mkdir(parents=True, exist_ok=True)
        (self.root / path).write_text(text)

    def check(self):
        run = subprocess.run([sys.executable, CHECKER, "--root", str(self.root)],
                             capture_output=True, text=True)
        return run.returncode, run.stdout + run.stderr

    def test_clean_tree_passes(self):
        code, out = self.check()
        self.assertEqual(code, 0, out)
        self.assertIn("layering ok: 2 sources", out)

    def test_upward_include_fails_naming_the_line(self):
        self.write("low/a.cc", '#include "low/a.h"\n\n#include "high/b.h"\n')
        code, out = self.check()
        self.assertEqual(code, 1, out)
        self.assertIn('low/a.cc:3: #include "high/b.h": low (level 0) -> high (level 1), upward',
                      out)
        self.assertNotIn("low/a.cc:1:", out)

    def test_sideways_include_fails(self):
        self.write("side/c.h", '#pragma once\n#include "high/b.h"\n')
        code, out = self.check()
        self.assertEqual(code, 1, out)
        self.assertIn('side/c.h:2: #include "high/b.h": side (level 1) -> high (level 1), sideways',
                      out)

    def test_source_in_unlisted_folder_fails(self):
        self.write("high/extra/d.cc", '#include "high/b.h"\n')
        code, out = self.check()
        self.assertEqual(code, 1, out)
        self.assertIn("high/extra/d.cc: folder high/extra/ is not in the layering table", out)

    def test_missing_project_header_fails(self):
        self.write("high/e.cc", '#include <vector>\n#include "high/gone.h"\n')
        code, out = self.check()
        self.assertEqual(code, 1, out)
        self.assertIn('high/e.cc:2: #include "high/gone.h": no such project header', out)

    def test_include_of_a_test_header_fails(self):
        self.write("tests/helper.h", "#pragma once\n")
        self.write("high/f.cc", '#include "tests/helper.h"\n')
        code, out = self.check()
        self.assertEqual(code, 1, out)
        self.assertIn('high/f.cc:1: #include "tests/helper.h": a header outside', out)

    def test_tests_bench_and_build_trees_are_exempt(self):
        for folder in ("tests/x", "bench", "build-asan"):
            self.write(f"{folder}/g.cc", '#include "high/b.h"\n#include "nowhere.h"\n')
        code, out = self.check()
        self.assertEqual(code, 0, out)

    def test_missing_table_is_an_error(self):
        self.write("docs/ARCHITECTURE.md", "# Architecture\n")
        code, out = self.check()
        self.assertEqual(code, 2, out)
        self.assertIn("no ```layering block", out)


if __name__ == "__main__":
    CHECKER = sys.argv.pop(1)
    unittest.main()
