#include "backoff.h"

#include <algorithm>
#include <cmath>

namespace kairos::agent {

Backoff::Backoff(int initialMs, int maxMs, quint32 seed)
    : m_initialMs(std::max(1, initialMs))
    , m_maxMs(std::max(m_initialMs, maxMs))
    , m_baseMs(m_initialMs)
    , m_random(seed != 0 ? seed : QRandomGenerator::system()->generate())
{}

int Backoff::nextDelayMs()
{
    const int base = m_baseMs;
    m_baseMs = int(std::min<qint64>(qint64(m_baseMs) * 2, m_maxMs));
    const double factor = 1.0 + kJitter * (2.0 * m_random.generateDouble() - 1.0);
    return std::max(1, int(std::lround(base * factor)));
}

} // namespace kairos::agent
