#pragma once
// ErrorBanner: a strip above the tables that shows what went wrong (a failed call, the engine
// that could not start) or a notice (the kairosctl port is taken), until the user closes it or
// a newer message replaces it. Messages are shown as given: they name the problem.
//
// GUI thread only.

#include <QFrame>

class QLabel;
class QToolButton;

namespace kairos::ui {

class ErrorBanner : public QFrame {
    Q_OBJECT
public:
    enum class Level { Notice, Error };

    explicit ErrorBanner(QWidget *parent = nullptr);

    void showMessage(const QString &message, Level level = Level::Error);
    QString message() const;
    Level level() const { return m_level; }

private:
    QLabel *m_icon;
    QLabel *m_text;
    QToolButton *m_close;
    Level m_level = Level::Error;
};

} // namespace kairos::ui
