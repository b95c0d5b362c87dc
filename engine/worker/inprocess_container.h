#pragma once
// InProcessContainer: a container version loaded into the worker itself (isolation `inprocess`,
// docs/containers.md section 4) — fast, but a crash in container code takes the worker down.
// Its runs are SdkProcessorRuns on the runner's pool. The library stays mapped while any object
// it made may still exist or run (processor objects, copies of its factories, the root
// instance); unloading destroys what is left of them first and then really closes the library
// (dlclose), so hundreds of redeploys do not accumulate mapped code.
//
// ContainerLibrary is the loader itself, shared with kairos-container-host (which loads the
// library the same way in its own process): QPluginLoader with RTLD_LOCAL | RTLD_DEEPBIND |
// RTLD_NOW, the root object cast to sdk::Container, and the check that processors() offers
// every processor the metadata lists.

#include "loaded_container.h"
#include "sdk_processor_run.h"

#include <core/result.h>
#include <kairos/sdk.h>

#include <QList>
#include <QPluginLoader>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>

namespace kairos {

class ContainerLibrary {
public:
    // `label` names the library in errors ("hello 2.0 (1a2b3c4d)"); defaults to the file.
    explicit ContainerLibrary(QString file, QString label = {});
    // Unloads (see unload()).
    ~ContainerLibrary();
    ContainerLibrary(const ContainerLibrary &) = delete;
    ContainerLibrary &operator=(const ContainerLibrary &) = delete;

    // Loads the library and checks it. Errors: the plugin metadata is missing or not Kairos's,
    // the dynamic loader's message ("cannot load hello 2.0 (1a2b3c4d): ... undefined symbol"),
    // no sdk::Container root object, "metadata lists 'ghost' but the library does not offer it".
    // A failed load leaves nothing loaded. Call once, on the thread that will unload.
    Status load();
    bool isLoaded() const { return m_loaded; }

    // The names processors() offered, in its order (deep copies: they outlive the library).
    QStringList processorNames() const { return m_names; }
    bool hasProcessor(const QString &name) const { return m_names.contains(name); }

    // A factory for an SdkProcessorRun of `processor` (which must exist) that calls the
    // library's own factory. `released` is called once no copy of the returned function is left
    // — the run object is gone and its pool call has returned, so no code of the library runs
    // for it any more — on whichever thread drops the last copy (usually a pool thread): it
    // must be thread-safe. The library must stay loaded until then. Thread-safe.
    SdkProcessorRun::Factory leasedFactory(const QString &processor,
                                           std::function<void()> released) const;

    // Destroys the library's processor entries and root object, then closes the library. False
    // when Qt could not unload it (logged). Only when no leased factory is left.
    bool unload();

private:
    QString m_file;
    QString m_label;
    QPluginLoader m_loader;
    QList<sdk::ProcessorEntry> m_entries; // made by library code: cleared before unloading
    QStringList m_names;
    bool m_loaded = false;
};

class InProcessContainer final : public LoadedContainer {
    Q_OBJECT
public:
    explicit InProcessContainer(LoadedContainerSpec spec, QObject *parent = nullptr);
    // Unloads at once when nothing is busy; otherwise leaves the library mapped for ever (code
    // of it may still run on a pool thread) and logs a warning.
    ~InProcessContainer() override;

    void load() override;
    QStringList processorNames() const override;
    Result<std::unique_ptr<ProcessorRun>> createRun(const TaskSpec &spec, const QString &processor,
                                                    const ProcessorContext &context) override;
    int busyCount() const override;
    void unloadWhenDrained() override;

private:
    struct Tracker; // busy count shared with the leases (pool threads)

    void onReleased();
    void unloadNow();

    std::unique_ptr<ContainerLibrary> m_library;
    std::shared_ptr<Tracker> m_tracker;
    bool m_unloading = false;
    bool m_unloaded = false;
};

} // namespace kairos
