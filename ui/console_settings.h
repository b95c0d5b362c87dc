#pragma once
// ConsoleSettings: every setting the console remembers, each key and default in one place
// (window geometry and layout, table column layouts), over QSettings. The file is
// <config>/kairos/<application name>.conf: the console has no organisation, and a test binary
// (its own application name) never touches the user's settings.
//
// GUI thread only.

#include <QByteArray>
#include <QSettings>

namespace kairos::ui {

class ConsoleSettings {
public:
    // Bump when the window's docks/toolbars change so an old layout is not applied.
    static constexpr int kWindowStateVersion = 1;

    ConsoleSettings();

    // Forgets everything (tests, "reset layout").
    void clear();

    QByteArray windowGeometry() const;
    void setWindowGeometry(const QByteArray &value);
    QByteArray windowState() const;
    void setWindowState(const QByteArray &value);
    QByteArray splitterState() const;
    void setSplitterState(const QByteArray &value);
    QByteArray jobsHeaderState() const;
    void setJobsHeaderState(const QByteArray &value);
    QByteArray runsHeaderState() const;
    void setRunsHeaderState(const QByteArray &value);

private:
    QByteArray bytes(const char *key) const;
    void setBytes(const char *key, const QByteArray &value);

    QSettings m_settings;
};

} // namespace kairos::ui
