-- wrk script of the envcredit benchmark (bench/run.py): sends the requests listed in a file, in
-- turn, each thread starting at its own place; at the end prints one JSON line of results.
--
-- Request file: one request a line, `METHOD<TAB>PATH` or `METHOD<TAB>PATH<TAB>JSON BODY`.
-- Usage: wrk ... -s bench/rotate.lua URL -- REQUEST_FILE [ACCEPT_ENCODING]
-- With ACCEPT_ENCODING (e.g. "gzip", as browsers send), every request carries that header.

local requests = {}
local count = 0
local next_index = 0

function init(args)
  local file = args[1]
  local accept_encoding = args[2]
  if file == nil then
    error("rotate.lua: give the request file after --")
  end
  for line in io.lines(file) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if method == nil then
      error("rotate.lua: bad request line: " .. line)
    end
    local headers = {}
    if accept_encoding ~= nil and accept_encoding ~= "" then
      headers["Accept-Encoding"] = accept_encoding
    end
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    count = count + 1
    requests[count] = wrk.format(method, path, headers, body)
  end
  if count == 0 then
    error("rotate.lua: no requests in " .. file)
  end
  -- Threads start apart, so they do not ask for the same thing at the same moment.
  next_index = math.random(count) - 1
end

function request()
  next_index = next_index % count + 1
  return requests[next_index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
