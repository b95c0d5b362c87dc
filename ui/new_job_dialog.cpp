#include "new_job_dialog.h"

#include "labels.h"

#include <client/client.h>

#include <QComboBox>
#include <QCompleter>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTimeZone>
#include <QVBoxLayout>

namespace kairos::ui {

NewJobDialog::NewJobDialog(client::Client *client, QWidget *parent)
    : QDialog(parent)
    , m_client(client)
    , m_name(new QLineEdit(this))
    , m_processor(new QComboBox(this))
    , m_processorLabel(new QLabel(this))
    , m_processorText(new QPlainTextEdit(this))
    , m_timing(new QComboBox(this))
    , m_expression(new QLineEdit(this))
    , m_timeZone(new QComboBox(this))
    , m_error(new QLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setWindowTitle(tr("New job"));
    m_name->setObjectName(QStringLiteral("nameEdit"));
    m_name->setPlaceholderText(tr("for example nightly-backup"));
    m_processor->setObjectName(QStringLiteral("processorCombo"));
    for (ProcessorKind kind :
         {ProcessorKind::Shell, ProcessorKind::Echo, ProcessorKind::Sleep, ProcessorKind::Http})
        m_processor->addItem(Labels::processor(kind), toString(kind));
    m_processorText->setObjectName(QStringLiteral("processorTextEdit"));
    m_processorText->setTabChangesFocus(true);
    const int lineHeight = m_processorText->fontMetrics().lineSpacing();
    m_processorText->setFixedHeight(lineHeight * 4 + 12);

    m_timing->setObjectName(QStringLiteral("timingCombo"));
    for (TimingType type : {TimingType::Api, TimingType::Cron, TimingType::FixedRate,
                            TimingType::FixedDelay, TimingType::OneShot})
        m_timing->addItem(Labels::timingType(type), toString(type));
    m_expression->setObjectName(QStringLiteral("expressionEdit"));

    m_timeZone->setObjectName(QStringLiteral("timeZoneCombo"));
    m_timeZone->setEditable(true);
    m_timeZone->addItem(tr("Server's time zone"), QString());
    for (const QByteArray &id : QTimeZone::availableTimeZoneIds())
        m_timeZone->addItem(QString::fromUtf8(id), QString::fromUtf8(id));
    m_timeZone->completer()->setFilterMode(Qt::MatchContains);
    m_timeZone->completer()->setCaseSensitivity(Qt::CaseInsensitive);

    m_error->setObjectName(QStringLiteral("errorLabel"));
    m_error->setWordWrap(true);
    m_error->setTextFormat(Qt::PlainText);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet(QStringLiteral("color: #c62828;"));
    m_error->hide();

    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Create"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &NewJobDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &NewJobDialog::reject);

    auto *form = new QFormLayout;
    form->addRow(tr("&Name:"), m_name);
    form->addRow(tr("&Processor:"), m_processor);
    form->addRow(m_processorLabel, m_processorText);
    form->addRow(tr("&Timing:"), m_timing);
    form->addRow(tr("&Expression:"), m_expression);
    form->addRow(tr("Time &zone:"), m_timeZone);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(m_buttons);

    connect(m_processor, &QComboBox::currentIndexChanged, this,
            &NewJobDialog::updateProcessorField);
    connect(m_timing, &QComboBox::currentIndexChanged, this, &NewJobDialog::updateTimingField);
    updateProcessorField();
    updateTimingField();
    resize(sizeHint().expandedTo(QSize(480, 0)));
}

void NewJobDialog::updateProcessorField()
{
    const auto kind = processorKindFromString(m_processor->currentData().toString());
    switch (kind.value_or(ProcessorKind::Shell)) {
    case ProcessorKind::Shell:
        m_processorLabel->setText(tr("Script:"));
        m_processorText->setPlaceholderText(tr("echo \"hello\"\n(runs with /bin/bash -c)"));
        break;
    case ProcessorKind::Echo:
        m_processorLabel->setText(tr("Message:"));
        m_processorText->setPlaceholderText(
            tr("text to log and return (empty: the run's parameters)"));
        break;
    case ProcessorKind::Sleep:
        m_processorLabel->setText(tr("Duration (ms):"));
        m_processorText->setPlaceholderText(QStringLiteral("1500"));
        break;
    case ProcessorKind::Http:
        m_processorLabel->setText(tr("URL:"));
        m_processorText->setPlaceholderText(tr("https://example.com/hook (GET)"));
        break;
    case ProcessorKind::Container:
        break;
    }
}

void NewJobDialog::updateTimingField()
{
    const auto type = timingTypeFromString(m_timing->currentData().toString());
    m_expression->setEnabled(type != TimingType::Api);
    switch (type.value_or(TimingType::Api)) {
    case TimingType::Api:
        m_expression->setPlaceholderText(tr("runs only when started by hand or through the API"));
        break;
    case TimingType::Cron:
        m_expression->setPlaceholderText(tr("*/5 * * * *  or  0 0 2 * * ?"));
        break;
    case TimingType::FixedRate:
    case TimingType::FixedDelay:
        m_expression->setPlaceholderText(tr("30s, 5m, 2h or milliseconds"));
        break;
    case TimingType::OneShot:
        m_expression->setPlaceholderText(QStringLiteral("2030-01-31T09:00:00"));
        break;
    }
}

QJsonObject NewJobDialog::jobSpec() const
{
    const QString kind = m_processor->currentData().toString();
    const QString text = m_processorText->toPlainText();
    QJsonObject processor{{QStringLiteral("type"), kind}};
    switch (processorKindFromString(kind).value_or(ProcessorKind::Shell)) {
    case ProcessorKind::Shell:
        processor[QStringLiteral("script")] = text;
        break;
    case ProcessorKind::Echo:
        if (!text.isEmpty())
            processor[QStringLiteral("message")] = text;
        break;
    case ProcessorKind::Sleep: {
        // A number goes as a number; anything else as typed, so the server names the problem.
        bool ok = false;
        const qint64 ms = text.trimmed().toLongLong(&ok);
        processor[QStringLiteral("ms")] = ok ? QJsonValue(ms) : QJsonValue(text.trimmed());
        break;
    }
    case ProcessorKind::Http:
        processor[QStringLiteral("url")] = text.trimmed();
        break;
    case ProcessorKind::Container:
        break;
    }

    const QString type = m_timing->currentData().toString();
    QJsonObject timing{{QStringLiteral("type"), type}};
    if (type != toString(TimingType::Api))
        timing[QStringLiteral("expression")] = m_expression->text().trimmed();
    // The editable combo holds either a listed zone (its id as data) or what the user typed.
    QString zone = m_timeZone->currentText().trimmed();
    if (m_timeZone->currentIndex() >= 0 && m_timeZone->itemText(m_timeZone->currentIndex()) == zone)
        zone = m_timeZone->currentData().toString();
    if (!zone.isEmpty())
        timing[QStringLiteral("timeZone")] = zone;

    return QJsonObject{{QStringLiteral("name"), m_name->text().trimmed()},
                       {QStringLiteral("enabled"), true},
                       {QStringLiteral("timing"), timing},
                       {QStringLiteral("processor"), processor}};
}

QString NewJobDialog::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

void NewJobDialog::setSubmitting(bool submitting)
{
    m_submitting = submitting;
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(!submitting);
}

void NewJobDialog::showError(const QString &message)
{
    m_error->setText(message);
    m_error->show();
    // Put the cursor where the problem is: the message starts with the field's path.
    const QString field = message.section(u':', 0, 0).trimmed();
    QWidget *target = nullptr;
    if (field == QLatin1String("name"))
        target = m_name;
    else if (field.startsWith(QLatin1String("processor")))
        target = m_processorText;
    else if (field == QLatin1String("timing.timeZone"))
        target = m_timeZone;
    else if (field.startsWith(QLatin1String("timing")))
        target = m_expression->isEnabled() ? static_cast<QWidget *>(m_expression) : m_timing;
    if (target)
        target->setFocus(Qt::OtherFocusReason);
}

void NewJobDialog::accept()
{
    if (m_submitting)
        return;
    setSubmitting(true);
    m_error->hide();
    m_client->call(QStringLiteral("job.create"), QJsonObject{{QStringLiteral("job"), jobSpec()}},
                   this, [this](Result<QJsonObject> reply) {
                       setSubmitting(false);
                       if (!reply.ok()) {
                           showError(reply.error());
                           return;
                       }
                       if (auto job = jobFromJson(*reply); job.ok())
                           emit created(*job);
                       QDialog::accept();
                   });
}

} // namespace kairos::ui
