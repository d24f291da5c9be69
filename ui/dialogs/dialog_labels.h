#pragma once

// The labels the console's dialogs share: the line that says why OK is disabled, and secondary
// text that stays readable (a disabled label is too faint).

class QLabel;
class QWidget;

namespace rangepilot {

// Dark red, wrapped, named "errorLabel", hidden until there is something to say.
QLabel* newErrorLabel(QWidget* parent);
// The text colour faded a third of the way toward the background.
void fadeText(QLabel* label);

} // namespace rangepilot
