#include "stats.h"

#include <QJsonValue>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kairos::bench {

double rounded(double value, int decimals)
{
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

QJsonObject percentiles(QList<double> samples, int decimals)
{
    if (samples.isEmpty())
        return {};
    std::sort(samples.begin(), samples.end());
    const qsizetype n = samples.size();
    const auto rank = [&](double p) {
        const auto k = qsizetype(std::ceil(p * double(n))) - 1;
        return samples.at(std::clamp<qsizetype>(k, 0, n - 1));
    };
    const double mean = std::accumulate(samples.cbegin(), samples.cend(), 0.0) / double(n);
    return QJsonObject{
        {QStringLiteral("n"), double(n)},
        {QStringLiteral("min"), rounded(samples.first(), decimals)},
        {QStringLiteral("p50"), rounded(rank(0.50), decimals)},
        {QStringLiteral("p90"), rounded(rank(0.90), decimals)},
        {QStringLiteral("p99"), rounded(rank(0.99), decimals)},
        {QStringLiteral("max"), rounded(samples.last(), decimals)},
        {QStringLiteral("mean"), rounded(mean, decimals)},
    };
}

double median(QList<double> values)
{
    if (values.isEmpty())
        return 0;
    std::sort(values.begin(), values.end());
    const qsizetype n = values.size();
    return n % 2 ? values.at(n / 2) : (values.at(n / 2 - 1) + values.at(n / 2)) / 2;
}

QJsonObject combineRepetitions(const QList<QJsonObject> &reps)
{
    QJsonObject out;
    if (reps.isEmpty())
        return out;
    const QJsonObject &first = reps.first();
    for (auto it = first.begin(); it != first.end(); ++it) {
        const QString key = it.key();
        if (it.value().isDouble()) {
            QList<double> values;
            for (const QJsonObject &rep : reps) {
                if (rep.value(key).isDouble())
                    values << rep.value(key).toDouble();
            }
            const double med = median(values);
            // Keep 3 significant decimals for small figures, whole numbers for big ones.
            const int decimals = std::abs(med) >= 1000 ? 0 : 3;
            out.insert(key,
                       QJsonObject{
                           {QStringLiteral("median"), rounded(med, decimals)},
                           {QStringLiteral("min"),
                            rounded(*std::min_element(values.cbegin(), values.cend()), decimals)},
                           {QStringLiteral("max"),
                            rounded(*std::max_element(values.cbegin(), values.cend()), decimals)},
                       });
        } else if (it.value().isObject()) {
            QList<QJsonObject> nested;
            for (const QJsonObject &rep : reps)
                nested << rep.value(key).toObject();
            out.insert(key, combineRepetitions(nested));
        } else {
            out.insert(key, it.value());
        }
    }
    return out;
}

} // namespace kairos::bench
