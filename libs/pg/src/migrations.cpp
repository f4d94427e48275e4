#include "tickstream/pg/migrations.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>

namespace tickstream::pg {

namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;

constexpr std::uint64_t fnv1a(std::string_view bytes, bool fold_crlf) {
  std::uint64_t hash = kFnvOffset;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    // A checkout with CRLF line endings must not look like an edited migration.
    if (fold_crlf && bytes[i] == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') continue;
    hash ^= static_cast<unsigned char>(bytes[i]);
    hash *= kFnvPrime;
  }
  return hash;
}

std::string label(int version, const std::string& name) {
  std::string v = std::to_string(version);
  if (v.size() < 4) v.insert(0, 4 - v.size(), '0');
  return v + "_" + name;
}

std::string label(const Migration& m) { return label(m.version, m.name); }

bool validNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

// "0003_add_orders.sql" -> {3, "add_orders"}; false when the name does not follow the pattern.
bool parseFileName(const std::string& file, int& version, std::string& name) {
  constexpr std::string_view kExt = ".sql";
  if (file.size() <= kExt.size() ||
      file.compare(file.size() - kExt.size(), kExt.size(), kExt) != 0) {
    return false;
  }
  const std::string stem = file.substr(0, file.size() - kExt.size());
  std::size_t digits = 0;
  while (digits < stem.size() && std::isdigit(static_cast<unsigned char>(stem[digits])) != 0) {
    ++digits;
  }
  if (digits < 4 || digits >= stem.size() || stem[digits] != '_') return false;
  name = stem.substr(digits + 1);
  if (name.empty() || !std::all_of(name.begin(), name.end(), validNameChar)) return false;
  const std::string number = stem.substr(0, digits);
  const auto first = number.find_first_not_of('0');
  if (first == std::string::npos || number.size() - first > 9) return false;  // 0 or > int
  version = std::stoi(number);
  return true;
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read migration file " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void lock(pqxx::work& work) {
  // Transaction-scoped, so a replica that dies mid-migration releases it with its session.
  work.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
}

}  // namespace

const std::int64_t kMigrationLockKey =
    static_cast<std::int64_t>(fnv1a("tickstream.schema_migrations", false));

std::string migrationChecksum(std::string_view sql) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t hash = fnv1a(sql, true);
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[hash & 0xf];
    hash >>= 4;
  }
  return out;
}

std::vector<Migration> loadMigrations(const std::filesystem::path& directory) {
  if (!std::filesystem::is_directory(directory)) {
    throw std::invalid_argument("migrations directory " + directory.string() +
                                " does not exist or is not a directory");
  }
  std::map<int, std::filesystem::path> files;
  std::vector<Migration> out;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (!entry.is_regular_file()) continue;
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    Migration m;
    if (!parseFileName(file, m.version, m.name)) {
      throw std::invalid_argument("migration file " + entry.path().string() +
                                  " is not named NNNN_name.sql (4+ digit version > 0, then _, "
                                  "then letters, digits, _ or -)");
    }
    const auto [it, inserted] = files.emplace(m.version, entry.path());
    if (!inserted) {
      throw std::invalid_argument("migration files " + it->second.string() + " and " +
                                  entry.path().string() + " have the same version " +
                                  std::to_string(m.version));
    }
    m.sql = readFile(entry.path());
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return out;
}

std::vector<int> applyMigrations(pqxx::connection& conn, const std::vector<Migration>& migrations) {
  // The code's view: version -> (migration, checksum), refusing an inconsistent list up front.
  std::map<int, std::pair<const Migration*, std::string>> known;
  for (const auto& m : migrations) {
    if (m.version <= 0) {
      throw std::invalid_argument("migration " + m.name + " has version " +
                                  std::to_string(m.version) + "; versions start at 1");
    }
    if (!known.emplace(m.version, std::make_pair(&m, migrationChecksum(m.sql))).second) {
      throw std::invalid_argument("two migrations have version " + std::to_string(m.version));
    }
  }

  {
    // Created under the lock too: two sessions racing CREATE TABLE IF NOT EXISTS can both
    // miss the table and one then fails on a duplicate catalog row.
    pqxx::work work(conn);
    lock(work);
    work.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    const auto applied = work.exec("SELECT version, name, checksum FROM schema_migrations");
    for (const auto& row : applied) {
      const int version = row[0].as<int>();
      const std::string name = row[1].as<std::string>();
      const std::string checksum = row[2].as<std::string>();
      const auto it = known.find(version);
      if (it == known.end()) {
        throw MigrationError(version,
                             "database has migration " + label(version, name) +
                                 " which this build does not know: it was migrated by a newer "
                                 "build (or a migration file was deleted); refusing to start");
      }
      if (it->second.second != checksum) {
        throw MigrationError(version, "migration " + label(*it->second.first) +
                                          " was applied with checksum " + checksum +
                                          " but the file now has checksum " + it->second.second +
                                          "; applied migrations must not be edited, add a new "
                                          "one instead; refusing to start");
      }
    }
    work.commit();
  }

  std::vector<int> done;
  for (const auto& [version, entry] : known) {
    const Migration& m = *entry.first;
    const std::string& checksum = entry.second;
    pqxx::work work(conn);
    lock(work);
    // Re-read under the lock: another replica may have applied it while this one waited.
    const auto row =
        work.exec_params("SELECT checksum FROM schema_migrations WHERE version = $1", version);
    if (!row.empty()) {
      const std::string theirs = row[0][0].as<std::string>();
      if (theirs != checksum) {
        throw MigrationError(version, "migration " + label(m) + " was applied with checksum " +
                                          theirs + " but the file now has checksum " + checksum +
                                          "; refusing to start");
      }
      continue;
    }
    try {
      work.exec(m.sql);
    } catch (const pqxx::sql_error& e) {
      if (!conn.is_open()) throw;  // connection loss, not a bad migration: let callers retry
      throw MigrationError(version, "migration " + label(m) +
                                        " failed and was rolled back: " + e.what());
    }
    work.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                     version, m.name, checksum);
    work.commit();
    done.push_back(version);
  }
  return done;
}

}  // namespace tickstream::pg
