#include "console_settings.h"

#include <QCoreApplication>

namespace kairos::ui {
namespace {

constexpr char kGeometry[] = "window/geometry";
constexpr char kState[] = "window/state";
constexpr char kSplitter[] = "window/splitter";
constexpr char kJobsHeader[] = "jobs/header";
constexpr char kRunsHeader[] = "runs/header";

} // namespace

ConsoleSettings::ConsoleSettings()
    : m_settings(QStringLiteral("kairos"), QCoreApplication::applicationName())
{}

void ConsoleSettings::clear()
{
    m_settings.clear();
}

QByteArray ConsoleSettings::bytes(const char *key) const
{
    return m_settings.value(QLatin1String(key)).toByteArray();
}

void ConsoleSettings::setBytes(const char *key, const QByteArray &value)
{
    m_settings.setValue(QLatin1String(key), value);
}

QByteArray ConsoleSettings::windowGeometry() const
{
    return bytes(kGeometry);
}
void ConsoleSettings::setWindowGeometry(const QByteArray &value)
{
    setBytes(kGeometry, value);
}
QByteArray ConsoleSettings::windowState() const
{
    return bytes(kState);
}
void ConsoleSettings::setWindowState(const QByteArray &value)
{
    setBytes(kState, value);
}
QByteArray ConsoleSettings::splitterState() const
{
    return bytes(kSplitter);
}
void ConsoleSettings::setSplitterState(const QByteArray &value)
{
    setBytes(kSplitter, value);
}
QByteArray ConsoleSettings::jobsHeaderState() const
{
    return bytes(kJobsHeader);
}
void ConsoleSettings::setJobsHeaderState(const QByteArray &value)
{
    setBytes(kJobsHeader, value);
}
QByteArray ConsoleSettings::runsHeaderState() const
{
    return bytes(kRunsHeader);
}
void ConsoleSettings::setRunsHeaderState(const QByteArray &value)
{
    setBytes(kRunsHeader, value);
}

} // namespace kairos::ui
