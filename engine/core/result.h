#pragma once
// Result<T>: a value or a user-facing error message. Public engine APIs return this instead of
// throwing: the error text names what was wrong and what was expected, and is shown to a user
// as is (e.g. "day-of-week: 8 is outside 1-7").

#include <QString>

#include <optional>
#include <utility>
#include <variant>

namespace kairos {

struct Error {
    QString message;
};

inline Error makeError(QString message)
{
    return Error{std::move(message)};
}

template<typename T> class [[nodiscard]] Result {
public:
    Result(T value)
        : m_data(std::in_place_index<0>, std::move(value))
    {}
    Result(Error error)
        : m_data(std::in_place_index<1>, std::move(error))
    {}

    bool ok() const { return m_data.index() == 0; }
    explicit operator bool() const { return ok(); }

    T &value() & { return std::get<0>(m_data); }
    const T &value() const & { return std::get<0>(m_data); }
    T &&value() && { return std::get<0>(std::move(m_data)); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }

    // Empty on success, so it is safe in eagerly evaluated messages (QVERIFY2, logging).
    QString error() const { return ok() ? QString() : std::get<1>(m_data).message; }

private:
    std::variant<T, Error> m_data;
};

// Result<void>: success or an error message.
template<> class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error)
        : m_error(std::move(error.message))
    {}

    bool ok() const { return !m_error.has_value(); }
    explicit operator bool() const { return ok(); }
    QString error() const { return m_error.value_or(QString()); }

private:
    std::optional<QString> m_error;
};

using Status = Result<void>;

} // namespace kairos
