#pragma once
// LineSplitter: turns a byte stream (a process's stdout or stderr) into text lines. Bytes are
// kept until their line ends, so a line split across reads arrives whole; a line longer than
// the cap is cut into cap-sized pieces (at a UTF-8 character boundary) so one runaway line
// cannot grow memory without bound. A trailing "\r" is dropped (CRLF output). Not thread-safe.

#include <QByteArray>
#include <QString>

#include <functional>

namespace kairos {

class LineSplitter {
public:
    static constexpr qsizetype kDefaultMaxLineBytes = 64 * 1024;
    using Sink = std::function<void(const QString &line)>;

    explicit LineSplitter(qsizetype maxLineBytes = kDefaultMaxLineBytes);

    // Emits every complete line in `data` (plus kept bytes before it) to `sink`.
    void feed(const QByteArray &data, const Sink &sink);
    // Emits the kept partial line, if any (end of stream).
    void flush(const Sink &sink);

private:
    void emitLine(QByteArrayView bytes, const Sink &sink);

    QByteArray m_pending;
    qsizetype m_maxLineBytes;
};

} // namespace kairos
