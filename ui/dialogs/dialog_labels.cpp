#include "dialog_labels.h"

#include <QLabel>
#include <QPalette>

namespace rangepilot {

QLabel* newErrorLabel(QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setObjectName(QStringLiteral("errorLabel"));
    label->setWordWrap(true);
    QPalette palette = label->palette();
    palette.setColor(QPalette::WindowText, QColor(176, 0, 32));
    label->setPalette(palette);
    label->hide();
    return label;
}

void fadeText(QLabel* label) {
    QPalette palette = label->palette();
    const QColor text = palette.color(QPalette::WindowText);
    const QColor background = palette.color(QPalette::Window);
    const auto mix = [](int a, int b) { return (2 * a + b) / 3; };
    palette.setColor(QPalette::WindowText, QColor(mix(text.red(), background.red()),
                                                  mix(text.green(), background.green()),
                                                  mix(text.blue(), background.blue())));
    label->setPalette(palette);
}

} // namespace rangepilot
