#include <QtTest>

class Placeholder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pending() { QSKIP("not written yet"); }
};

QTEST_APPLESS_MAIN(Placeholder)
#include "tst_analysis.moc"
