#include "loaded_container.h"

#include "hosted_container.h"
#include "inprocess_container.h"

namespace kairos {

QString LoadedContainer::describe() const
{
    return QStringLiteral("%1 %2 (%3)")
        .arg(m_spec.container, m_spec.version, m_spec.sha256.left(8));
}

std::unique_ptr<LoadedContainer> makeLoadedContainer(const LoadedContainerSpec &spec)
{
    switch (spec.isolation) {
    case ContainerIsolation::InProcess:
        return std::make_unique<InProcessContainer>(spec);
    case ContainerIsolation::Process:
        break;
    }
    return std::make_unique<HostedContainer>(spec);
}

} // namespace kairos
