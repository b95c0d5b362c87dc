#pragma once
// NewJobDialog: creates a job from the few fields most jobs need — name, processor (Shell,
// Echo, Sleep, HTTP) with its one setting, timing type with its expression, time zone. The
// server validates; its message (which names the field, e.g. "timing.expression: ...") is shown
// in the dialog as is, the field it names gets the focus, and the dialog stays open until the
// job exists.
//
// GUI thread only. Opened with open() (never exec()): the reply arrives through the event loop.

#include <core/job.h>

#include <QDialog>
#include <QJsonObject>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;

namespace kairos::client {
class Client;
}

namespace kairos::ui {

class NewJobDialog : public QDialog {
    Q_OBJECT
public:
    explicit NewJobDialog(client::Client *client, QWidget *parent = nullptr);

    // The job as `job.create` takes it, built from the fields.
    QJsonObject jobSpec() const;
    // The server's last refusal, as shown (empty when none).
    QString errorText() const;
    bool isSubmitting() const { return m_submitting; }

    // Sends the job to the server; the dialog closes when the server has created it.
    void accept() override;

signals:
    void created(const kairos::Job &job);

private:
    void updateProcessorField();
    void updateTimingField();
    void showError(const QString &message);
    void setSubmitting(bool submitting);

    client::Client *m_client;
    QLineEdit *m_name;
    QComboBox *m_processor;
    QLabel *m_processorLabel;
    QPlainTextEdit *m_processorText;
    QComboBox *m_timing;
    QLineEdit *m_expression;
    QComboBox *m_timeZone;
    QLabel *m_error;
    QDialogButtonBox *m_buttons;
    bool m_submitting = false;
};

} // namespace kairos::ui
