#include "inprocess_container.h"

#include "container_file.h"

#include <core/container_info.h>
#include <kairos/container.h>

#include <QLoggingCategory>
#include <QPointer>

#include <atomic>
#include <exception>
#include <mutex>

Q_LOGGING_CATEGORY(lcInProcess, "kairos.worker.inprocess", QtWarningMsg)

namespace kairos {

namespace {

// A QString the library made may point at its read-only data (QStringLiteral): copy it into
// memory of our own before the library can go away.
QString ownedCopy(const QString &s)
{
    return QString(s.constData(), s.size());
}

} // namespace

// --- ContainerLibrary -------------------------------------------------------------------------

ContainerLibrary::ContainerLibrary(QString file, QString label)
    : m_file(std::move(file))
    , m_label(label.isEmpty() ? m_file : std::move(label))
{}

ContainerLibrary::~ContainerLibrary()
{
    unload();
}

Status ContainerLibrary::load()
{
    if (m_loaded)
        return {};
    // The same checks as at upload and download (ELF, plugin IID, SDK, metadata fields), read
    // without running any of the library's code. First, with its own short-lived loader: Qt
    // shares one library object per path among loaders, and a new QPluginLoader resets its load
    // hints while the library is not loaded yet.
    Result<ContainerMetadata> metadata = readContainerMetadata(m_file, QStringLiteral("worker"));
    if (!metadata)
        return makeError(metadata.error());

    m_loader.setFileName(m_file);
    // QPluginLoader's constructor sets PreventUnloadHint and setFileName() keeps the previous
    // hints, which would make unload() a no-op (the library stays mapped for ever, one more per
    // redeploy). Set ours explicitly: RTLD_NOW (missing symbols fail the load, not a run),
    // RTLD_DEEPBIND (the library's own symbols win over the worker's), RTLD_LOCAL (Qt's default:
    // nothing of it is visible to the next library).
    m_loader.setLoadHints(QLibrary::DeepBindHint | QLibrary::ResolveAllSymbolsHint);

    if (!m_loader.load())
        return makeError(QStringLiteral("cannot load %1: %2").arg(m_label, m_loader.errorString()));

    const auto fail = [this](const QString &why) -> Status {
        m_entries.clear();
        m_names.clear();
        if (!m_loader.unload())
            qCWarning(lcInProcess) << "could not unload" << m_file << ":" << m_loader.errorString();
        return makeError(why);
    };
    QObject *root = m_loader.instance();
    auto *container = qobject_cast<sdk::Container *>(root);
    if (!container)
        return fail(QStringLiteral("%1: the library's root object does not implement "
                                   "kairos::sdk::Container (%2)")
                        .arg(m_label, QLatin1StringView(KAIROS_CONTAINER_IID)));
    try {
        m_entries = container->processors();
    } catch (const std::exception &e) {
        return fail(QStringLiteral("%1: processors() threw: %2")
                        .arg(m_label, QString::fromLocal8Bit(e.what())));
    } catch (...) {
        return fail(QStringLiteral("%1: processors() threw").arg(m_label));
    }
    for (const sdk::ProcessorEntry &e : std::as_const(m_entries))
        m_names << ownedCopy(e.name);
    for (const ContainerProcessorInfo &p : std::as_const(metadata->processors)) {
        if (!m_names.contains(p.name))
            return fail(QStringLiteral("metadata lists '%1' but the library does not offer it")
                            .arg(p.name));
    }
    m_loaded = true;
    return {};
}

SdkProcessorRun::Factory ContainerLibrary::leasedFactory(const QString &processor,
                                                         std::function<void()> released) const
{
    // The lease is ours (its code lives in the worker, not in the library): copies of the
    // returned function share it, and the last one to go calls `released`. The library's own
    // std::function is called through a pointer and never copied, so no code of the library is
    // needed to destroy a copy.
    struct Lease {
        const sdk::ProcessorEntry *entry = nullptr;
        std::function<void()> released;
        ~Lease()
        {
            if (released)
                released();
        }
    };
    auto lease = std::make_shared<Lease>();
    lease->released = std::move(released);
    for (const sdk::ProcessorEntry &e : m_entries) {
        if (e.name == processor) {
            lease->entry = &e;
            break;
        }
    }
    return [lease]() -> std::unique_ptr<sdk::Processor> {
        if (!lease->entry || !lease->entry->create)
            return nullptr;
        return lease->entry->create();
    };
}

bool ContainerLibrary::unload()
{
    if (!m_loaded)
        return true;
    m_loaded = false;
    // Everything the library made goes first: the factories' std::functions (their managers are
    // library code), then the root object (QPluginLoader::unload deletes it), then the mapping.
    m_entries.clear();
    if (!m_loader.unload()) {
        qCWarning(lcInProcess) << "could not unload" << m_file << ":" << m_loader.errorString();
        return false;
    }
    return true;
}

// --- InProcessContainer -----------------------------------------------------------------------

struct InProcessContainer::Tracker {
    std::atomic<int> busy{0};
    std::mutex mutex;
    InProcessContainer *target = nullptr; // guarded by mutex; null once the container is gone

    // Any thread: one run's lease is gone.
    void release()
    {
        busy.fetch_sub(1);
        const std::lock_guard lock(mutex);
        if (target)
            QMetaObject::invokeMethod(
                target, [c = target] { c->onReleased(); }, Qt::QueuedConnection);
    }
};

InProcessContainer::InProcessContainer(LoadedContainerSpec spec, QObject *parent)
    : LoadedContainer(std::move(spec), parent)
    , m_tracker(std::make_shared<Tracker>())
{
    m_tracker->target = this;
}

InProcessContainer::~InProcessContainer()
{
    {
        const std::lock_guard lock(m_tracker->mutex);
        m_tracker->target = nullptr;
    }
    if (!m_library)
        return;
    if (m_tracker->busy.load() == 0) {
        m_library->unload();
        return;
    }
    // Code of the library may still run on a pool thread: closing it would crash the process.
    qCWarning(lcInProcess).noquote() << describe() << "destroyed with" << m_tracker->busy.load()
                                     << "runs still busy: leaving the library loaded";
    (void)m_library.release(); // deliberately leaked, with its entries, for the busy runs
}

void InProcessContainer::load()
{
    if (m_library || m_unloaded)
        return;
    m_library = std::make_unique<ContainerLibrary>(spec().file, describe());
    const Status status = m_library->load();
    if (!status) {
        m_library.reset();
        emit loadFailed(status.error());
        return;
    }
    m_loaded = true;
    emit loaded();
}

QStringList InProcessContainer::processorNames() const
{
    return m_library ? m_library->processorNames() : QStringList();
}

Result<std::unique_ptr<ProcessorRun>> InProcessContainer::createRun(const TaskSpec &spec,
                                                                    const QString &processor,
                                                                    const ProcessorContext &context)
{
    if (!m_loaded || !m_library)
        return makeError(QStringLiteral("container %1 is not loaded").arg(describe()));
    if (m_unloading)
        return makeError(QStringLiteral("container %1 is being unloaded").arg(describe()));
    if (!m_library->hasProcessor(processor))
        return makeError(QStringLiteral("container %1 has no processor '%2' (it has: %3)")
                             .arg(describe(), processor,
                                  m_library->processorNames().join(QStringLiteral(", "))));
    m_tracker->busy.fetch_add(1);
    SdkProcessorRun::Factory factory =
        m_library->leasedFactory(processor, [tracker = m_tracker] { tracker->release(); });
    auto run = std::make_unique<SdkProcessorRun>(
        spec, std::move(factory),
        QStringLiteral("%1#%2").arg(LoadedContainer::spec().container, processor), context.pool);
    emit busyChanged(busyCount());
    return std::unique_ptr<ProcessorRun>(std::move(run));
}

int InProcessContainer::busyCount() const
{
    return m_tracker->busy.load();
}

void InProcessContainer::unloadWhenDrained()
{
    if (m_unloading)
        return;
    m_unloading = true;
    if (busyCount() == 0)
        unloadNow();
}

void InProcessContainer::onReleased()
{
    const QPointer<InProcessContainer> self(this);
    emit busyChanged(busyCount());
    if (self && m_unloading && busyCount() == 0)
        unloadNow();
}

void InProcessContainer::unloadNow()
{
    if (m_unloaded)
        return;
    m_unloaded = true;
    m_loaded = false;
    // On the runner's thread, where the library was loaded and its root object lives.
    if (m_library)
        m_library->unload();
    m_library.reset();
    emit unloaded();
}

} // namespace kairos
