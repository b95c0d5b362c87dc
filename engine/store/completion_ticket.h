#pragma once
// CompletionTicket: carries one result notification from the store thread to a context
// object's thread. It is connected to the context on the caller's thread (where the context is
// known to be alive) and fired on the store thread; Qt's queued connection then drops the call
// safely if the context dies in between, with no race on a dangling pointer. Internal to
// engine/store.

#include <QObject>

namespace kairos::detail {

class CompletionTicket : public QObject {
    Q_OBJECT
signals:
    void fired();
};

} // namespace kairos::detail
