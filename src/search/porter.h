// Porter's stemming algorithm (M.F. Porter, 1980) with the two departures of
// Porter's own reference implementation ("bli" -> "ble", "logi" -> "log"):
// the stemmer SQLite's FTS5 porter tokenizer applies, so BM25 terms here
// match the ones that index produced. Like FTS5's, it leaves words of fewer
// than 3 or more than 64 bytes alone, and applies "sses", "ies" and "eed" only
// when a stem remains ("ies" -> "ie"). Bytes outside a-z count as consonants.
#pragma once

#include <string>

namespace atelier::search {

// Stems a lower-case word in place.
void porter_stem(std::string& word);

}  // namespace atelier::search
