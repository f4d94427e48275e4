#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>

#include "tickstream/pg/migrations.h"

namespace fs = std::filesystem;
using tickstream::pg::loadMigrations;
using tickstream::pg::migrationChecksum;

namespace {

// A fresh directory per test case, removed at scope end.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("tickstream-pg-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
  }

 private:
  fs::path path_;
};

std::string messageOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("migration checksum is FNV-1a 64 in lowercase hex") {
  // Published FNV-1a 64 test vectors.
  CHECK(migrationChecksum("") == "cbf29ce484222325");
  CHECK(migrationChecksum("a") == "af63dc4c8601ec8c");
  CHECK(migrationChecksum("foobar") == "85944171f73967e8");
}

TEST_CASE("migration checksum ignores CRLF line endings but nothing else") {
  const std::string lf = "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n";
  const std::string crlf = "CREATE TABLE t (id int);\r\nINSERT INTO t VALUES (1);\r\n";
  CHECK(migrationChecksum(lf) == migrationChecksum(crlf));
  CHECK(migrationChecksum(lf) != migrationChecksum(lf + " "));
  CHECK(migrationChecksum(lf) !=
        migrationChecksum("create table t (id int);\nINSERT INTO t VALUES (1);\n"));
}

TEST_CASE("migrations load in version order and other files are ignored") {
  TempDir dir;
  dir.write("0010_add_index.sql", "CREATE INDEX i ON t (id);");
  dir.write("0002_create_t.sql", "CREATE TABLE t (id int);");
  dir.write("0001_init.sql", "SELECT 1;");
  dir.write("README.md", "how to write a migration");
  fs::create_directories(dir.path() / "0003_not_a_file.sql");

  const auto migrations = loadMigrations(dir.path());
  REQUIRE(migrations.size() == 3);
  CHECK(migrations[0].version == 1);
  CHECK(migrations[0].name == "init");
  CHECK(migrations[1].version == 2);
  CHECK(migrations[1].name == "create_t");
  CHECK(migrations[1].sql == "CREATE TABLE t (id int);");
  CHECK(migrations[2].version == 10);
  CHECK(migrations[2].name == "add_index");
}

TEST_CASE("a misnamed .sql file is refused rather than skipped") {
  for (const std::string bad : {"1_short_version.sql", "0003-dash.sql", "0003_.sql",
                                "0000_zero.sql", "0004_sp ace.sql", "abcd_x.sql"}) {
    TempDir dir;
    dir.write("0001_ok.sql", "SELECT 1;");
    dir.write(bad, "SELECT 2;");
    const auto message = messageOf([&] { loadMigrations(dir.path()); });
    INFO(bad << ": " << message);
    CHECK(message.find(bad) != std::string::npos);
  }
}

TEST_CASE("two migration files with one version are refused") {
  TempDir dir;
  dir.write("0003_a.sql", "SELECT 1;");
  dir.write("00003_b.sql", "SELECT 2;");
  const auto message = messageOf([&] { loadMigrations(dir.path()); });
  CHECK(message.find("same version 3") != std::string::npos);
}

TEST_CASE("a missing migrations directory is an error, an empty one is not") {
  TempDir dir;
  CHECK(loadMigrations(dir.path()).empty());
  CHECK_THROWS_AS(loadMigrations(dir.path() / "nope"), std::invalid_argument);
}
