// Test support: a bounded wait for something asynchronous (a daemon's reaction, a
// guest booting). A wait, not a timing assertion: the limit only bounds a failing test.
#pragma once

#include <chrono>
#include <functional>

namespace txend::testing {

// How often Eventually asks again unless told otherwise.
inline constexpr std::chrono::milliseconds kEventuallyPoll{10};

// Asks `done` every `poll` until it returns true or `limit` has passed, then once more
// after the limit. Returns the last answer.
bool Eventually(std::chrono::milliseconds limit, const std::function<bool()>& done,
                std::chrono::milliseconds poll = kEventuallyPoll);

}  // namespace txend::testing
