using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws.Tests.Metadata;

/// <summary>An IMDSv2 on 127.0.0.1: PUT /latest/api/token with a TTL header, then GETs that must carry the token.</summary>
public sealed class FakeImds : IAsyncDisposable
{
    public const string Token = "fake-imds-token";

    private readonly WebApplication _app;

    private FakeImds(WebApplication app, string baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public string BaseAddress { get; }

    public ConcurrentDictionary<string, string> Values { get; } = new();

    public ConcurrentQueue<string> Requests { get; } = new();

    public static async Task<FakeImds> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        FakeImds? self = null;
        app.MapPut("/latest/api/token", (HttpContext context) =>
        {
            self!.Requests.Enqueue("PUT token");
            return context.Request.Headers.ContainsKey("X-aws-ec2-metadata-token-ttl-seconds")
                ? Results.Text(Token)
                : Results.BadRequest();
        });
        app.MapGet("/latest/meta-data/{**path}", (HttpContext context, string path) =>
        {
            self!.Requests.Enqueue("GET " + path);
            if (context.Request.Headers["X-aws-ec2-metadata-token"] != Token)
            {
                return Results.Unauthorized();
            }
            return self.Values.TryGetValue(path, out var value) ? Results.Text(value) : Results.NotFound();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new FakeImds(app, address);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
