using System.Collections.Concurrent;

namespace CsiDriver.Testing.Aws;

/// <summary>
/// What an injected fault does to one request: answer with an error instead of handling it,
/// or handle it and hold the answer back (the client times out, the change has happened: the idempotency case).
/// </summary>
public sealed record Ec2Fault
{
    public string? ErrorCode { get; init; }

    public string ErrorMessage { get; init; } = "Injected fault.";

    public int StatusCode { get; init; } = 400;

    /// <summary>Held back before handling the request (nothing has happened while the client waits).</summary>
    public TimeSpan DelayBefore { get; init; }

    /// <summary>Held back after handling the request (the change is made, the answer is late).</summary>
    public TimeSpan DelayAfter { get; init; }

    public static Ec2Fault Error(string code, string message = "Injected fault.", int statusCode = 400) =>
        new() { ErrorCode = code, ErrorMessage = message, StatusCode = statusCode };

    /// <summary>A 500 InternalError, as EC2 answers when it fails itself.</summary>
    public static Ec2Fault InternalError() => Error("InternalError", "An internal error has occurred.", 500);

    public static Ec2Fault Throttle() => Error("RequestLimitExceeded", "Request limit exceeded.", 503);

    public static Ec2Fault SlowAnswer(TimeSpan delay) => new() { DelayAfter = delay };

    public static Ec2Fault SlowStart(TimeSpan delay) => new() { DelayBefore = delay };
}

/// <summary>Faults queued per action; each request of that action takes the next one.</summary>
public sealed class Ec2Faults
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Ec2Fault>> _queues = new(StringComparer.Ordinal);

    /// <summary>The next <paramref name="times"/> calls of <paramref name="action"/> get <paramref name="fault"/>.</summary>
    public void Inject(string action, Ec2Fault fault, int times = 1)
    {
        var queue = _queues.GetOrAdd(action, _ => new ConcurrentQueue<Ec2Fault>());
        for (var i = 0; i < times; i++)
        {
            queue.Enqueue(fault);
        }
    }

    /// <summary>Faults still waiting for a call.</summary>
    public int Pending(string action) => _queues.TryGetValue(action, out var queue) ? queue.Count : 0;

    public void Clear() => _queues.Clear();

    internal Ec2Fault? Take(string action) =>
        _queues.TryGetValue(action, out var queue) && queue.TryDequeue(out var fault) ? fault : null;
}
