// The history commands (rotator(1) HISTORY): versions, find, restore, diff,
// du. All read the catalogue (history/catalogue.hpp), take no lock, and
// accept --json (one JSON document on stdout). Exit: 0 ok; 1 error (bad
// input, unknown place or path, a read error); 2 when a place vanished
// while it was read (a run holds the lock) or restore skipped special files.
#pragma once

#include "cli/commands.hpp"

namespace rotator::cli {

int cmd_versions(Invocation& inv);
int cmd_find(Invocation& inv);
int cmd_restore(Invocation& inv);
int cmd_diff(Invocation& inv);
int cmd_du(Invocation& inv);

}  // namespace rotator::cli
