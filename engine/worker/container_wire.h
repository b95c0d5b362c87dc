#pragma once
// The container messages of the worker protocol (docs/containers.md section 5; docs/protocol.md
// section 12): `deploy`, `fetchReply` (server -> worker), `deployStage`, `fetch`, `want`
// (worker -> server), as pure encode/decode functions like kairos::wire's. Decoders never trust
// the peer: a batch decoder keeps the good entries and returns one error per bad one, naming the
// field ("field 'stages[2].st' of 'deployStage' must be one of QUEUED, ..."); a fetchReply whose
// `f` could be read but not the rest is kept with `error` set, so the waiting download is told.
//
// Plain functions: thread-safe.

#include "wire.h"

#include <core/container_info.h>

namespace kairos::wire {

namespace type {
inline constexpr QLatin1StringView Deploy{"deploy"};
inline constexpr QLatin1StringView DeployStageMsg{"deployStage"};
inline constexpr QLatin1StringView Fetch{"fetch"};
inline constexpr QLatin1StringView FetchReplyMsg{"fetchReply"};
inline constexpr QLatin1StringView Want{"want"};
} // namespace type

protocol::Message encodeDeploy(const QList<ContainerOrder> &orders);
protocol::Message encodeDeployStage(const QList<DeployStage> &stages); // worker field not sent
protocol::Message encodeFetch(const QList<FetchRequest> &requests);
protocol::Message encodeFetchReply(const QList<FetchReply> &replies);
protocol::Message encodeWant(const QStringList &containers);

Batch<ContainerOrder> decodeDeploy(const protocol::Message &m);
Batch<DeployStage> decodeDeployStage(const protocol::Message &m);
// Lengths above kMaxFetchBytes are errors.
Batch<FetchRequest> decodeFetch(const protocol::Message &m);
Batch<FetchReply> decodeFetchReply(const protocol::Message &m);
Batch<QString> decodeWant(const protocol::Message &m);

} // namespace kairos::wire
