#pragma once
// EmptyStateTableView: a QTableView that says what to do when it has no rows ("No jobs yet —
// create one with Ctrl+N") instead of showing a blank grid. The text can differ when a filter
// hides every row.
//
// GUI thread only.

#include <QTableView>

namespace kairos::ui {

class EmptyStateTableView : public QTableView {
    Q_OBJECT
public:
    explicit EmptyStateTableView(QWidget *parent = nullptr);

    void setEmptyText(const QString &text);
    QString emptyText() const { return m_emptyText; }
    // Whether the empty text is what the view shows now.
    bool isShowingEmptyText() const;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    QString m_emptyText;
};

} // namespace kairos::ui
