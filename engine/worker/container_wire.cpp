#include "container_wire.h"

#include "wire_fields.h"

#include <QCborArray>
#include <QCborMap>
#include <QSet>

// Decoding rules beyond the field shapes of docs/containers.md section 5:
//  - ORDER: `d` (>= 0) and `n` (a container name) always; with `r` and without `h` it is a
//    reason-only order ("no version for this worker") and nothing else is read; otherwise `h` (a
//    SHA-256), `z` (1 .. 2^63-1; the manager applies its own size limit) and `iso` are required,
//    `v` (at most 256 characters) and `r` optional.
//  - STAGE: every field but `r` is required; `b` and `t` are never negative.
//  - FETCH: `f` >= 1, `o` >= 0, `l` from 1 to kMaxFetchBytes.
//  - REPLY: `f` >= 1, `h`, `o` >= 0; `data` (at most kMaxFetchBytes) unless `e` is there (then
//    `data` is ignored). A reply whose `f` could be read but not the rest is kept with `e` set to
//    the decode error.
//  - `want`'s names are container names.
//  - Like kairos::wire's decoders, a batch lists at most kMaxListedErrors errors plus a count.
// The field reader is wire.cpp's (wire_fields.h), so error texts have the same shape:
// "field 'stages[2].st' of 'deployStage' must be ...".

namespace kairos::wire {

using namespace detail;

namespace {

constexpr qsizetype kMaxLabelLength = 256;
constexpr qsizetype kMaxReasonLength = 4096;
const QString kContainerNameShape =
    QStringLiteral("a container name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})");

namespace key {
inline constexpr QLatin1StringView Orders{"orders"};
inline constexpr QLatin1StringView Stages{"stages"};
inline constexpr QLatin1StringView Requests{"requests"};
inline constexpr QLatin1StringView Replies{"replies"};
inline constexpr QLatin1StringView Names{"names"};
inline constexpr QLatin1StringView Deploy{"d"};
inline constexpr QLatin1StringView Name{"n"};
inline constexpr QLatin1StringView Sha{"h"};
inline constexpr QLatin1StringView Size{"z"};
inline constexpr QLatin1StringView Isolation{"iso"};
inline constexpr QLatin1StringView Version{"v"};
inline constexpr QLatin1StringView Reason{"r"};
inline constexpr QLatin1StringView Stage{"st"};
inline constexpr QLatin1StringView Bytes{"b"};
inline constexpr QLatin1StringView Total{"t"};
inline constexpr QLatin1StringView FetchId{"f"};
inline constexpr QLatin1StringView Offset{"o"};
inline constexpr QLatin1StringView Length{"l"};
inline constexpr QLatin1StringView Data{"data"};
inline constexpr QLatin1StringView Error{"e"};
} // namespace key

// The same check as isValidSha256 (worker/container_file.h), here so the codec keeps its small
// dependency set (the fuzz target compiles it without the file helpers).
bool isSha256(const QString &s)
{
    if (s.size() != 64)
        return false;
    for (const QChar c : s) {
        const char16_t u = c.unicode();
        if (!((u >= '0' && u <= '9') || (u >= 'a' && u <= 'f')))
            return false;
    }
    return true;
}

// Reads the required text `k` (at most 1024 characters) and gives it to `take`, which keeps it
// and returns true when it is acceptable; otherwise the error is "must be EXPECTED, got TEXT".
// Nothing is kept once `f` has an error.
template<typename Take>
void readChecked(Fields &f, QLatin1StringView k, const QString &expected, Take take)
{
    QString s;
    f.text(k, s, Need::Required, 1024);
    if (f.ok() && !take(s))
        f.fail(k, QStringLiteral("must be %1, got %2").arg(expected, quoted(s)));
}

void readSha(Fields &f, QLatin1StringView k, QString &out)
{
    readChecked(f, k, QStringLiteral("a SHA-256 (64 lowercase hex digits)"), [&out](QString &s) {
        if (!isSha256(s))
            return false;
        out = std::move(s);
        return true;
    });
}

void readContainerName(Fields &f, QLatin1StringView k, QString &out)
{
    readChecked(f, k, kContainerNameShape, [&out](QString &s) {
        if (!isValidContainerName(s))
            return false;
        out = std::move(s);
        return true;
    });
}

// An enum by its wire name: `parse` is the core's fromString, `names` the accepted ones.
template<typename E>
void readEnumName(Fields &f, QLatin1StringView k, E &out, Result<E> (*parse)(const QString &),
                  const QString &names)
{
    readChecked(f, k, QStringLiteral("one of %1").arg(names), [&](const QString &s) {
        const Result<E> e = parse(s);
        if (!e)
            return false;
        out = *e;
        return true;
    });
}

// Wire names of the enums, as toString spells them.
QString stageNames()
{
    QStringList names;
    for (auto s :
         {DeployStageName::Queued, DeployStageName::Downloading, DeployStageName::Verifying,
          DeployStageName::Loading, DeployStageName::Ready, DeployStageName::Failed})
        names << toString(s);
    return names.join(QStringLiteral(", "));
}

QString isolationNames()
{
    return toString(ContainerIsolation::Process) + QStringLiteral(", ")
           + toString(ContainerIsolation::InProcess);
}

// Decodes the list of maps `listKey` entry by entry with `read(Fields &, T &)`; good entries are
// kept, every bad one adds its error and is shown to `onBad(batch, item, error)`.
template<typename T, typename Read, typename OnBad>
Batch<T> decodeMaps(const protocol::Message &m, QLatin1StringView listKey, Read read, OnBad onBad)
{
    Batch<T> batch;
    decodeEntries(m, listKey, batch.items, batch.errors, read,
                  [&](const T &item, const QString &error) { onBad(batch, item, error); });
    return batch;
}

template<typename T, typename Read>
Batch<T> decodeMaps(const protocol::Message &m, QLatin1StringView listKey, Read read)
{
    return decodeMaps<T>(m, listKey, read, [](Batch<T> &, const T &, const QString &) {});
}

// --- shapes -----------------------------------------------------------------------------------

QCborMap orderToCbor(const ContainerOrder &o)
{
    QCborMap c;
    c.insert(key::Deploy, o.deployId);
    c.insert(key::Name, o.container);
    if (o.sha256.isEmpty()) {
        // A reason-only order: the container has no version for this worker.
        c.insert(key::Reason, o.reason);
        if (!o.version.isEmpty())
            c.insert(key::Version, o.version);
        return c;
    }
    c.insert(key::Sha, o.sha256);
    c.insert(key::Size, o.sizeBytes);
    c.insert(key::Isolation, toString(o.isolation));
    c.insert(key::Version, o.version);
    if (!o.reason.isEmpty())
        c.insert(key::Reason, o.reason);
    return c;
}

void readOrder(Fields &f, ContainerOrder &o)
{
    f.integer(key::Deploy, o.deployId, 0, kInt64Max);
    readContainerName(f, key::Name, o.container);
    f.text(key::Reason, o.reason, Need::Optional, kMaxReasonLength);
    f.text(key::Version, o.version, Need::Optional, kMaxLabelLength);
    if (!f.has(key::Sha) && f.has(key::Reason)) {
        if (o.reason.isEmpty())
            f.fail(key::Reason, QStringLiteral("must not be empty in an order without 'h'"));
        return;
    }
    readSha(f, key::Sha, o.sha256);
    f.integer(key::Size, o.sizeBytes, 1, kInt64Max);
    readEnumName(f, key::Isolation, o.isolation, &containerIsolationFromString, isolationNames());
}

QCborMap stageToCbor(const DeployStage &s)
{
    QCborMap c;
    c.insert(key::Deploy, s.deployId);
    c.insert(key::Name, s.container);
    c.insert(key::Sha, s.sha256);
    c.insert(key::Stage, toString(s.stage));
    c.insert(key::Bytes, s.bytes);
    c.insert(key::Total, s.total);
    if (!s.reason.isEmpty())
        c.insert(key::Reason, s.reason);
    return c;
}

void readStage(Fields &f, DeployStage &s)
{
    f.integer(key::Deploy, s.deployId, 0, kInt64Max);
    readContainerName(f, key::Name, s.container);
    readSha(f, key::Sha, s.sha256);
    readEnumName(f, key::Stage, s.stage, &deployStageFromString, stageNames());
    f.integer(key::Bytes, s.bytes, 0, kInt64Max);
    f.integer(key::Total, s.total, 0, kInt64Max);
    f.text(key::Reason, s.reason, Need::Optional, kMaxReasonLength);
}

QCborMap requestToCbor(const FetchRequest &r)
{
    QCborMap c;
    c.insert(key::FetchId, r.fetchId);
    c.insert(key::Sha, r.sha256);
    c.insert(key::Offset, r.offset);
    c.insert(key::Length, r.length);
    return c;
}

void readRequest(Fields &f, FetchRequest &r)
{
    f.integer(key::FetchId, r.fetchId, 1, kInt64Max);
    readSha(f, key::Sha, r.sha256);
    f.integer(key::Offset, r.offset, 0, kInt64Max);
    f.integer(key::Length, r.length, 1, kMaxFetchBytes);
}

QCborMap replyToCbor(const FetchReply &r)
{
    QCborMap c;
    c.insert(key::FetchId, r.fetchId);
    c.insert(key::Sha, r.sha256);
    c.insert(key::Offset, r.offset);
    if (r.error.isEmpty())
        c.insert(key::Data, r.data);
    else
        c.insert(key::Error, r.error);
    return c;
}

void readReply(Fields &f, FetchReply &r)
{
    f.integer(key::FetchId, r.fetchId, 1, kInt64Max);
    readSha(f, key::Sha, r.sha256);
    f.integer(key::Offset, r.offset, 0, kInt64Max);
    f.text(key::Error, r.error, Need::Optional, kMaxReasonLength);
    if (r.error.isEmpty() && f.ok())
        f.bytes(key::Data, r.data, Need::Required, kMaxFetchBytes); // with `e`, `data` is ignored
}

} // namespace

protocol::Message encodeDeploy(const QList<ContainerOrder> &orders)
{
    return listMessage(type::Deploy, key::Orders, orders, orderToCbor);
}

protocol::Message encodeDeployStage(const QList<DeployStage> &stages)
{
    return listMessage(type::DeployStageMsg, key::Stages, stages, stageToCbor);
}

protocol::Message encodeFetch(const QList<FetchRequest> &requests)
{
    return listMessage(type::Fetch, key::Requests, requests, requestToCbor);
}

protocol::Message encodeFetchReply(const QList<FetchReply> &replies)
{
    return listMessage(type::FetchReplyMsg, key::Replies, replies, replyToCbor);
}

protocol::Message encodeWant(const QStringList &containers)
{
    QCborArray a;
    for (const QString &name : containers)
        a.append(name);
    QCborMap c;
    c.insert(key::Names, a);
    return protocol::Message(QString(type::Want), std::move(c));
}

Batch<ContainerOrder> decodeDeploy(const protocol::Message &m)
{
    return decodeMaps<ContainerOrder>(m, key::Orders, readOrder);
}

Batch<DeployStage> decodeDeployStage(const protocol::Message &m)
{
    return decodeMaps<DeployStage>(m, key::Stages, readStage);
}

Batch<FetchRequest> decodeFetch(const protocol::Message &m)
{
    return decodeMaps<FetchRequest>(m, key::Requests, readRequest);
}

Batch<FetchReply> decodeFetchReply(const protocol::Message &m)
{
    return decodeMaps<FetchReply>(
        m, key::Replies, readReply,
        [](Batch<FetchReply> &batch, const FetchReply &reply, const QString &error) {
            // The download waiting for this reply is told what was wrong with it instead of
            // waiting for ever.
            if (reply.fetchId > 0) {
                FetchReply failed;
                failed.fetchId = reply.fetchId;
                failed.sha256 = reply.sha256;
                failed.offset = reply.offset;
                // Clipped to what a reply's `e` may hold, so it survives being sent on.
                failed.error = QStringLiteral("malformed reply from the server: %1")
                                   .arg(error)
                                   .left(kMaxReasonLength);
                batch.items.append(std::move(failed));
            }
        });
}

Batch<QString> decodeWant(const protocol::Message &m)
{
    Batch<QString> batch;
    const auto list = topList(m, key::Names, batch.errors);
    if (!list)
        return batch;
    QSet<QString> seen;
    auto field = [&](qsizetype i) {
        return QStringLiteral("field '%1[%2]' of '%3'").arg(key::Names).arg(i).arg(m.type);
    };
    {
        // Its own scope: the error list adds its count line when it ends, before the return.
        ErrorList errors(batch.errors, key::Names, m.type);
        for (qsizetype i = 0; i < list->size(); ++i) {
            const QCborValue v = list->at(i);
            if (!v.isString()) {
                errors.add(QStringLiteral("%1 must be a text string, got %2")
                               .arg(field(i), protocol::cborTypeName(v)));
                continue;
            }
            const QString name = v.toString();
            if (!isValidContainerName(name)) {
                errors.add(QStringLiteral("%1 must be %2, got %3")
                               .arg(field(i), kContainerNameShape, quoted(name)));
                continue;
            }
            if (!seen.contains(name)) {
                seen.insert(name);
                batch.items.append(name);
            }
        }
    }
    return batch;
}

} // namespace kairos::wire
