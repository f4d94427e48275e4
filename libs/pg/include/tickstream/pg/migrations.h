#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tickstream::pg {

// One versioned schema change, normally read from `<dir>/NNNN_name.sql`.
struct Migration {
  int version = 0;   // the NNNN prefix; applied in ascending order, recorded once
  std::string name;  // the rest of the file name, for messages and schema_migrations.name
  std::string sql;   // one or more statements, run in a single transaction (no BEGIN/COMMIT)
};

// A migration cannot be applied, or the database does not match the code; start-up must stop.
class MigrationError : public std::runtime_error {
 public:
  MigrationError(int version, const std::string& message)
      : std::runtime_error(message), version_(version) {}
  int version() const noexcept { return version_; }

 private:
  int version_;
};

// The checksum recorded per migration: FNV-1a 64 of the SQL with CRLF normalised to LF, as 16
// lowercase hex digits. Any other byte change (whitespace and comments included) changes it: an
// applied migration is history and is never edited; fix forward with a new one.
std::string migrationChecksum(std::string_view sql);

// Reads every `NNNN_name.sql` (at least four digits, then `_`, then [A-Za-z0-9_-]) in
// `directory`, sorted by version. Other files (README.md, ...) are ignored, but a `.sql` file
// that does not follow the pattern, or two files with the same version, throw
// std::invalid_argument naming the file: a typo must not silently skip a migration.
std::vector<Migration> loadMigrations(const std::filesystem::path& directory);

// Brings the schema up to date and returns the versions this call applied (empty when nothing
// was pending). Creates schema_migrations if needed (in the current search_path), then applies
// each pending migration in its own transaction together with its schema_migrations row, each
// under pg_advisory_xact_lock(kMigrationLockKey) so replicas starting together apply it once.
//
// Throws MigrationError naming the version when an applied migration's checksum differs from the
// code's, when the database records a version the code does not have (a newer build migrated it;
// this one must not run against it), or when a migration's SQL fails (it is rolled back and not
// recorded). Connection loss surfaces as pqxx::broken_connection / pqxx::in_doubt_error; calling
// again is safe, so Pool::run(..., Retry::Idempotent) may wrap this.
std::vector<int> applyMigrations(pqxx::connection& conn, const std::vector<Migration>& migrations);

// The advisory lock every Tickstream replica takes while migrating: FNV-1a 64 of
// "tickstream.schema_migrations" as a signed bigint.
extern const std::int64_t kMigrationLockKey;

}  // namespace tickstream::pg
