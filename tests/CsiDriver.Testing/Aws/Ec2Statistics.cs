using System.Collections.Concurrent;

namespace CsiDriver.Testing.Aws;

/// <summary>Counts of one action: every request received, those throttled, those answered with another error.</summary>
public sealed record Ec2ActionCounts(string Action, long Calls, long Throttled, long Errors)
{
    public long Succeeded => Calls - Throttled - Errors;
}

/// <summary>One request as the simulator saw it (for assertions on what the client sent).</summary>
public sealed record Ec2CallRecord(
    DateTimeOffset Time,
    string Action,
    IReadOnlyDictionary<string, string> Parameters,
    string? ErrorCode);

/// <summary>Per-action counters and a bounded log of calls, safe to read while requests are in flight.</summary>
public sealed class Ec2Statistics
{
    private const int MaxLoggedCalls = 200_000;

    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Ec2CallRecord> _calls = new();
    private long _hidden;

    public long Calls(string action) => _counters.TryGetValue(action, out var c) ? Interlocked.Read(ref c.Calls) : 0;

    public long Throttled(string action) => _counters.TryGetValue(action, out var c) ? Interlocked.Read(ref c.Throttled) : 0;

    public long Errors(string action) => _counters.TryGetValue(action, out var c) ? Interlocked.Read(ref c.Errors) : 0;

    public long TotalCalls => _counters.Values.Sum(c => Interlocked.Read(ref c.Calls));

    public long TotalThrottled => _counters.Values.Sum(c => Interlocked.Read(ref c.Throttled));

    /// <summary>Resources that a Describe* answer left out (or called NotFound) only because they were not visible yet.</summary>
    public long HiddenByConsistency => Interlocked.Read(ref _hidden);

    /// <summary>Every action seen so far, by name.</summary>
    public IReadOnlyList<Ec2ActionCounts> ByAction() =>
        _counters
            .OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => new Ec2ActionCounts(c.Key, Interlocked.Read(ref c.Value.Calls), Interlocked.Read(ref c.Value.Throttled), Interlocked.Read(ref c.Value.Errors)))
            .ToList();

    /// <summary>The calls logged so far, oldest first (at most 200,000).</summary>
    public IReadOnlyList<Ec2CallRecord> CallLog(string? action = null) =>
        _calls.Where(c => action is null || c.Action == action).ToList();

    public void Reset()
    {
        _counters.Clear();
        _calls.Clear();
        Interlocked.Exchange(ref _hidden, 0);
    }

    internal void Hidden(int count) => Interlocked.Add(ref _hidden, count);

    internal void Record(Ec2CallRecord call, bool throttled)
    {
        var counter = _counters.GetOrAdd(call.Action, _ => new Counter());
        Interlocked.Increment(ref counter.Calls);
        if (throttled)
        {
            Interlocked.Increment(ref counter.Throttled);
        }
        else if (call.ErrorCode is not null)
        {
            Interlocked.Increment(ref counter.Errors);
        }
        if (_calls.Count < MaxLoggedCalls)
        {
            _calls.Enqueue(call);
        }
    }

    private sealed class Counter
    {
        public long Calls;
        public long Throttled;
        public long Errors;
    }
}
