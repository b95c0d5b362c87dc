#include "container_info.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

#include <cmath>
#include <limits>

namespace kairos {

namespace {

// Enum names are matched case-insensitively and without '-'/'_', so a CLI user may type
// "in-process", "map_reduce" or "ready"; the canonical spelling is what toString() gives.
QString enumKey(const QString &s)
{
    QString key = s.trimmed().toLower();
    key.remove(QLatin1Char('-'));
    key.remove(QLatin1Char('_'));
    return key;
}

template<typename E, std::size_t N>
Result<E> enumFromString(const E (&values)[N], const QString &s, const char *what)
{
    const QString key = enumKey(s);
    QStringList names;
    for (E v : values) {
        if (!key.isEmpty() && enumKey(toString(v)) == key)
            return v;
        names << toString(v);
    }
    return makeError(QStringLiteral("'%1' is not a %2; expected one of %3")
                         .arg(s, QLatin1String(what), names.join(QStringLiteral(", "))));
}

constexpr ProcessorShape kShapes[] = {ProcessorShape::Standalone, ProcessorShape::Broadcast,
                                      ProcessorShape::Map, ProcessorShape::MapReduce};
constexpr ContainerIsolation kIsolations[] = {ContainerIsolation::Process,
                                              ContainerIsolation::InProcess};
constexpr DeployStageName kStages[] = {DeployStageName::Queued,    DeployStageName::Downloading,
                                       DeployStageName::Verifying, DeployStageName::Loading,
                                       DeployStageName::Ready,     DeployStageName::Failed};

template<typename E, std::size_t N> QString namesOf(const E (&values)[N])
{
    QStringList names;
    for (E v : values)
        names << toString(v);
    return names.join(QStringLiteral(", "));
}

bool isLowerHexSha256(const QString &text)
{
    if (text.size() != 64)
        return false;
    for (QChar c : text) {
        if (!((c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f')))
            return false;
    }
    return true;
}

// The value as it appeared in the JSON, for "got ..." in errors.
QString jsonText(const QJsonValue &v)
{
    if (v.isUndefined())
        return QStringLiteral("nothing");
    const QByteArray json = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    QString text = QString::fromUtf8(json.mid(1, json.size() - 2)); // strip the brackets
    if (text.size() > 80)
        text = text.left(77) + QStringLiteral("...");
    return text;
}

// Reads typed fields of one JSON object, keeping the first error in the shape of
// docs/containers.md: "<prefix>field '<path>' <what>" (prefix "metadata: " for metadata).
class Reader {
public:
    Reader(QJsonObject o, QString prefix, QString path, QString *error)
        : m_o(std::move(o))
        , m_prefix(std::move(prefix))
        , m_path(std::move(path))
        , m_error(error)
    {}

    QString where(const QString &key) const { return m_path.isEmpty() ? key : m_path + u'.' + key; }
    bool has(const QString &key) const { return m_o.contains(key) && !m_o[key].isNull(); }
    QJsonValue value(const QString &key) const { return m_o[key]; }
    bool failed() const { return !m_error->isEmpty(); }

    void fail(const QString &key, const QString &what)
    {
        if (m_error->isEmpty())
            *m_error = QStringLiteral("%1field '%2' %3").arg(m_prefix, where(key), what);
    }

    // A string; `required` fails when it is missing or null.
    void text(const QString &key, QString &out, bool required)
    {
        if (!has(key)) {
            if (required)
                fail(key, QStringLiteral("is missing; expected a string"));
            return;
        }
        if (!m_o[key].isString())
            return fail(key, QStringLiteral("must be a string, got %1").arg(jsonText(m_o[key])));
        out = m_o[key].toString();
    }

    template<typename Int> void integer(const QString &key, Int &out, bool required, Int min)
    {
        if (!has(key)) {
            if (required)
                fail(key, QStringLiteral("is missing; expected a whole number"));
            return;
        }
        const QJsonValue v = m_o[key];
        // JSON numbers are doubles: 2^53 and beyond are not exact; no size, id or epoch-ms
        // value reaches it.
        constexpr double kExact = 9007199254740992.0; // 2^53
        const double d = v.toDouble();
        if (!v.isDouble() || !std::isfinite(d) || d != std::trunc(d) || std::fabs(d) > kExact)
            return fail(key, QStringLiteral("must be a whole number, got %1").arg(jsonText(v)));
        if (d < double(min) || d > double(std::numeric_limits<Int>::max()))
            return fail(key, QStringLiteral("must be between %1 and %2, got %3")
                                 .arg(qint64(min))
                                 .arg(qint64(std::numeric_limits<Int>::max()))
                                 .arg(qint64(d)));
        out = static_cast<Int>(d);
    }

    void sha256(const QString &key, QString &out, bool required)
    {
        QString text;
        this->text(key, text, required);
        if (failed() || (!required && text.isEmpty()))
            return;
        if (!isLowerHexSha256(text))
            return fail(key, QStringLiteral("must be 64 lowercase hex digits, got %1")
                                 .arg(jsonText(QJsonValue(text))));
        out = text;
    }

    void name(const QString &key, QString &out)
    {
        QString text;
        this->text(key, text, true);
        if (failed())
            return;
        if (!isValidContainerName(text))
            return fail(key, QStringLiteral("must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got %1")
                                 .arg(jsonText(QJsonValue(text))));
        out = text;
    }

    template<typename E, std::size_t N>
    void enumeration(const QString &key, E &out, const E (&values)[N],
                     Result<E> (*parse)(const QString &), bool required)
    {
        if (!has(key)) {
            if (required)
                fail(key, QStringLiteral("is missing; expected one of %1").arg(namesOf(values)));
            return;
        }
        QString text;
        this->text(key, text, true);
        if (failed())
            return;
        const Result<E> v = parse(text);
        if (!v)
            return fail(key, QStringLiteral("must be one of %1").arg(namesOf(values)));
        out = *v;
    }

private:
    QJsonObject m_o;
    QString m_prefix;
    QString m_path;
    QString *m_error;
};

Result<ContainerMetadata> metadataFromJson(const QJsonObject &json, const QString &prefix)
{
    QString error;
    Reader r(json, prefix, QString(), &error);
    ContainerMetadata m;
    r.name(QStringLiteral("name"), m.name);
    r.text(QStringLiteral("version"), m.version, true);
    if (!r.failed() && m.version.size() > 64)
        r.fail(QStringLiteral("version"),
               QStringLiteral("must be at most 64 characters, got %1").arg(m.version.size()));
    r.integer(QStringLiteral("sdk"), m.sdkVersion, true, 0);
    if (!r.failed()) {
        const QJsonValue list = r.value(QStringLiteral("processors"));
        if (!list.isArray())
            r.fail(QStringLiteral("processors"),
                   QStringLiteral("must be a list of processors, got %1").arg(jsonText(list)));
        else if (list.toArray().isEmpty())
            r.fail(QStringLiteral("processors"),
                   QStringLiteral("must list at least one processor"));
    }
    if (!r.failed()) {
        const QJsonArray list = r.value(QStringLiteral("processors")).toArray();
        QSet<QString> seen;
        for (qsizetype i = 0; i < list.size() && !r.failed(); ++i) {
            const QString path = QStringLiteral("processors[%1]").arg(i);
            if (!list[i].isObject()) {
                r.fail(path, QStringLiteral("must be an object {name, shape, description}, got %1")
                                 .arg(jsonText(list[i])));
                break;
            }
            Reader p(list[i].toObject(), prefix, path, &error);
            ContainerProcessorInfo info;
            p.name(QStringLiteral("name"), info.name);
            if (!p.failed() && seen.contains(info.name))
                p.fail(QStringLiteral("name"),
                       QStringLiteral("repeats processor name '%1'; names must be unique")
                           .arg(info.name));
            seen.insert(info.name);
            p.enumeration(QStringLiteral("shape"), info.shape, kShapes, &processorShapeFromString,
                          true);
            p.text(QStringLiteral("description"), info.description, false);
            m.processors << info;
        }
    }
    if (!error.isEmpty())
        return makeError(error);
    return m;
}

} // namespace

QString toString(ProcessorShape v)
{
    switch (v) {
    case ProcessorShape::Standalone:
        return QStringLiteral("standalone");
    case ProcessorShape::Broadcast:
        return QStringLiteral("broadcast");
    case ProcessorShape::Map:
        return QStringLiteral("map");
    case ProcessorShape::MapReduce:
        return QStringLiteral("mapReduce");
    }
    return {};
}

Result<ProcessorShape> processorShapeFromString(const QString &s)
{
    return enumFromString(kShapes, s, "processor shape");
}

QString toString(ContainerIsolation v)
{
    switch (v) {
    case ContainerIsolation::Process:
        return QStringLiteral("process");
    case ContainerIsolation::InProcess:
        return QStringLiteral("inprocess");
    }
    return {};
}

Result<ContainerIsolation> containerIsolationFromString(const QString &s)
{
    return enumFromString(kIsolations, s, "container isolation");
}

QString toString(DeployStageName v)
{
    switch (v) {
    case DeployStageName::Queued:
        return QStringLiteral("QUEUED");
    case DeployStageName::Downloading:
        return QStringLiteral("DOWNLOADING");
    case DeployStageName::Verifying:
        return QStringLiteral("VERIFYING");
    case DeployStageName::Loading:
        return QStringLiteral("LOADING");
    case DeployStageName::Ready:
        return QStringLiteral("READY");
    case DeployStageName::Failed:
        return QStringLiteral("FAILED");
    }
    return {};
}

Result<DeployStageName> deployStageFromString(const QString &s)
{
    return enumFromString(kStages, s, "deploy stage");
}

const ContainerProcessorInfo *ContainerMetadata::processor(const QString &processorName) const
{
    for (const ContainerProcessorInfo &p : processors) {
        if (p.name == processorName)
            return &p;
    }
    return nullptr;
}

QStringList ContainerMetadata::processorNames() const
{
    QStringList names;
    for (const ContainerProcessorInfo &p : processors)
        names << p.name;
    return names;
}

QJsonObject ContainerMetadata::toJson() const
{
    QJsonArray list;
    for (const ContainerProcessorInfo &p : processors) {
        list.append(QJsonObject{{QStringLiteral("name"), p.name},
                                {QStringLiteral("shape"), toString(p.shape)},
                                {QStringLiteral("description"), p.description}});
    }
    return QJsonObject{{QStringLiteral("name"), name},
                       {QStringLiteral("version"), version},
                       {QStringLiteral("sdk"), sdkVersion},
                       {QStringLiteral("processors"), list}};
}

Result<ContainerMetadata> ContainerMetadata::fromJson(const QJsonObject &json)
{
    return metadataFromJson(json, QStringLiteral("metadata: "));
}

bool isValidContainerName(const QString &name)
{
    if (name.isEmpty() || name.size() > 64)
        return false;
    for (qsizetype i = 0; i < name.size(); ++i) {
        const QChar c = name[i];
        const bool alnum =
            (c >= u'A' && c <= u'Z') || (c >= u'a' && c <= u'z') || (c >= u'0' && c <= u'9');
        if (alnum)
            continue;
        if (i == 0 || !(c == u'.' || c == u'_' || c == u'-'))
            return false;
    }
    return true;
}

Result<std::pair<QString, QString>> splitContainerRef(const QString &ref, const QString &field)
{
    const QStringList parts = ref.split(QLatin1Char('#'));
    if (parts.size() != 2 || parts[0].isEmpty() || parts[1].isEmpty())
        return makeError(
            QStringLiteral("%1: expected CONTAINER#PROCESSOR, got '%2'").arg(field, ref));
    for (const QString &part : parts) {
        if (!isValidContainerName(part))
            return makeError(QStringLiteral("%1: '%2' in '%3' is not a valid name; expected "
                                            "[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
                                 .arg(field, part, ref));
    }
    return std::pair<QString, QString>(parts[0], parts[1]);
}

QJsonObject ContainerVersion::toJson() const
{
    QJsonObject o = metadata.toJson();
    o.insert(QStringLiteral("sha256"), sha256);
    o.insert(QStringLiteral("sizeBytes"), sizeBytes);
    o.insert(QStringLiteral("uploadedAtMs"), uploadedAtMs);
    o.insert(QStringLiteral("uploadedBy"), uploadedBy);
    return o;
}

Result<ContainerVersion> ContainerVersion::fromJson(const QJsonObject &json)
{
    QString error;
    Reader r(json, QString(), QString(), &error);
    ContainerVersion v;
    r.sha256(QStringLiteral("sha256"), v.sha256, true);
    r.integer(QStringLiteral("sizeBytes"), v.sizeBytes, false, qint64(0));
    r.integer(QStringLiteral("uploadedAtMs"), v.uploadedAtMs, false, qint64(0));
    r.text(QStringLiteral("uploadedBy"), v.uploadedBy, false);
    if (!error.isEmpty())
        return makeError(error);
    // The metadata fields sit flat beside the version's own.
    Result<ContainerMetadata> m = metadataFromJson(json, QStringLiteral("metadata: "));
    if (!m)
        return makeError(m.error());
    v.metadata = std::move(*m);
    return v;
}

QJsonObject ContainerDeployment::toJson() const
{
    return QJsonObject{{QStringLiteral("container"), container},
                       {QStringLiteral("target"), target},
                       {QStringLiteral("sha256"), sha256},
                       {QStringLiteral("isolation"), toString(isolation)},
                       {QStringLiteral("deployId"), deployId},
                       {QStringLiteral("deployedAtMs"), deployedAtMs},
                       {QStringLiteral("deployedBy"), deployedBy}};
}

Result<ContainerDeployment> ContainerDeployment::fromJson(const QJsonObject &json)
{
    QString error;
    Reader r(json, QString(), QString(), &error);
    ContainerDeployment d;
    r.name(QStringLiteral("container"), d.container);
    r.text(QStringLiteral("target"), d.target, true);
    if (!r.failed() && d.target.isEmpty())
        r.fail(QStringLiteral("target"), QStringLiteral("must be \"*\" or a worker id, got \"\""));
    r.sha256(QStringLiteral("sha256"), d.sha256, true);
    r.enumeration(QStringLiteral("isolation"), d.isolation, kIsolations,
                  &containerIsolationFromString, false);
    r.integer(QStringLiteral("deployId"), d.deployId, false, qint64(0));
    r.integer(QStringLiteral("deployedAtMs"), d.deployedAtMs, false, qint64(0));
    r.text(QStringLiteral("deployedBy"), d.deployedBy, false);
    if (!error.isEmpty())
        return makeError(error);
    return d;
}

QJsonObject DeployStage::toJson() const
{
    QJsonObject o{{QStringLiteral("deployId"), deployId},     {QStringLiteral("worker"), worker},
                  {QStringLiteral("container"), container},   {QStringLiteral("sha256"), sha256},
                  {QStringLiteral("stage"), toString(stage)}, {QStringLiteral("bytes"), bytes},
                  {QStringLiteral("total"), total},           {QStringLiteral("atMs"), atMs}};
    if (!reason.isEmpty())
        o.insert(QStringLiteral("reason"), reason);
    return o;
}

Result<DeployStage> DeployStage::fromJson(const QJsonObject &json)
{
    QString error;
    Reader r(json, QString(), QString(), &error);
    DeployStage s;
    r.integer(QStringLiteral("deployId"), s.deployId, false, qint64(0));
    r.text(QStringLiteral("worker"), s.worker, false);
    r.name(QStringLiteral("container"), s.container);
    // Empty when the container has no version for the worker (a FAILED stage with a reason).
    r.sha256(QStringLiteral("sha256"), s.sha256, false);
    r.enumeration(QStringLiteral("stage"), s.stage, kStages, &deployStageFromString, true);
    r.integer(QStringLiteral("bytes"), s.bytes, false, qint64(0));
    r.integer(QStringLiteral("total"), s.total, false, qint64(0));
    r.text(QStringLiteral("reason"), s.reason, false);
    r.integer(QStringLiteral("atMs"), s.atMs, false, qint64(0));
    if (!error.isEmpty())
        return makeError(error);
    return s;
}

} // namespace kairos
