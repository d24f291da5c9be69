#pragma once

// The console's tables share one look: rows selected whole, alternating colours, no row numbers,
// and columns at least as wide as their headers (so "Batches (done / total)" is never cut to
// "ches (done / to"), wider where the content is.

class QTableView;

namespace rangepilot {

// Row behaviour and look; call once when the table is made.
void styleTable(QTableView* table);
// Widens every column to fit its header and the visible rows' content, within [min, max] pixels.
// Call after the model is set (and again when the content's shape changes).
void fitColumns(QTableView* table, int maximumWidth = 360);

} // namespace rangepilot
