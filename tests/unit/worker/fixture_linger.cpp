// Test container "linger" (built by this folder's CMakeLists for the isolation tests): `linger`
// logs "lingering", then sleeps config "lingerMs" WITHOUT looking at isCanceled() and returns
// "done" — a processor that is slow to honour a cancel, so tests can see that its version stays
// loaded (in-process) or its host is not told `released` (hosted) until the call has really
// returned. `quick` returns "quick" at once.
#include <kairos/container.h>

#include <chrono>
#include <thread>

namespace {

using kairos::sdk::ProcessResult;
using kairos::sdk::TaskContext;

class Linger final : public kairos::sdk::Processor {
public:
    ProcessResult process(TaskContext &ctx) override
    {
        ctx.log().info(QStringLiteral("lingering"));
        const auto ms = ctx.config().value(QLatin1String("lingerMs")).toInteger(0);
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        return ProcessResult::ok(QStringLiteral("done"));
    }
};

class Quick final : public kairos::sdk::Processor {
public:
    ProcessResult process(TaskContext &) override
    {
        return ProcessResult::ok(QStringLiteral("quick"));
    }
};

} // namespace

class LingerContainer : public QObject, public kairos::sdk::Container {
    Q_OBJECT
    Q_PLUGIN_METADATA(IID KAIROS_CONTAINER_IID FILE "kairos-container.json")
    Q_INTERFACES(kairos::sdk::Container)

public:
    QList<kairos::sdk::ProcessorEntry> processors() const override
    {
        return {{QStringLiteral("linger"), QStringLiteral("Ignores cancel for lingerMs"),
                 [] { return std::make_unique<Linger>(); }},
                {QStringLiteral("quick"), QStringLiteral("Returns at once"),
                 [] { return std::make_unique<Quick>(); }}};
    }
};

#include "fixture_linger.moc"
