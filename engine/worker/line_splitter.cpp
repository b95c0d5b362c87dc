#include "line_splitter.h"

namespace kairos {

LineSplitter::LineSplitter(qsizetype maxLineBytes)
    : m_maxLineBytes(std::max<qsizetype>(maxLineBytes, 4))
{}

void LineSplitter::emitLine(QByteArrayView bytes, const Sink &sink)
{
    if (bytes.endsWith('\r'))
        bytes.chop(1);
    sink(QString::fromUtf8(bytes));
}

void LineSplitter::feed(const QByteArray &data, const Sink &sink)
{
    m_pending.append(data);
    qsizetype start = 0;
    const qsizetype size = m_pending.size();
    while (start < size) {
        const qsizetype newline = m_pending.indexOf('\n', start);
        const qsizetype end = newline < 0 ? size : newline;
        if (end - start > m_maxLineBytes) {
            // Cut at the cap, backing off continuation bytes (10xxxxxx) so no character is split.
            qsizetype cut = start + m_maxLineBytes;
            while (cut > start + 1 && (static_cast<uchar>(m_pending.at(cut)) & 0xC0) == 0x80)
                --cut;
            emitLine(QByteArrayView(m_pending).sliced(start, cut - start), sink);
            start = cut;
            continue;
        }
        if (newline < 0)
            break;
        emitLine(QByteArrayView(m_pending).sliced(start, newline - start), sink);
        start = newline + 1;
    }
    m_pending.remove(0, start);
}

void LineSplitter::flush(const Sink &sink)
{
    if (m_pending.isEmpty())
        return;
    const QByteArray rest = std::exchange(m_pending, QByteArray());
    emitLine(rest, sink);
}

} // namespace kairos
