<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>QObject</name>
    <message>
        <source>server: expected HOST:PORT (for example 127.0.0.1:7070), got &quot;%1&quot;</source>
        <translation>server：应为 HOST:PORT（例如 127.0.0.1:7070），实际为“%1”</translation>
    </message>
    <message>
        <source>server: the port in &quot;%1&quot; must be a number from %2 to 65535</source>
        <translation>server：“%1”中的端口必须是 %2 到 65535 之间的数字</translation>
    </message>
</context>
<context>
    <name>kairos::app</name>
    <message>
        <source>--data: cannot create %1</source>
        <translation>--data：无法创建 %1</translation>
    </message>
    <message>
        <source>--data: %1</source>
        <translation>--data：%1</translation>
    </message>
    <message>
        <source>Port %1 on 127.0.0.1 is in use, so kairosctl cannot attach to this console; everything else works. Start with --no-listen to run without it.</source>
        <translation>127.0.0.1 上的端口 %1 已被占用，kairosctl 无法连接到此控制台；其他功能均可正常使用。使用 --no-listen 启动可不监听该端口。</translation>
    </message>
</context>
<context>
    <name>kairos::client::InProcessClient</name>
    <message>
        <source>the local engine is not running</source>
        <translation>本地引擎未在运行</translation>
    </message>
    <message>
        <source>local (%1)</source>
        <translation>本地（%1）</translation>
    </message>
</context>
<context>
    <name>kairos::client::RemoteClient</name>
    <message>
        <source>closed by the user</source>
        <translation>已被用户关闭</translation>
    </message>
    <message>
        <source>not connected</source>
        <translation>未连接</translation>
    </message>
    <message>
        <source>cannot reach %1: %2</source>
        <translation>无法连接 %1：%2</translation>
    </message>
</context>
<context>
    <name>kairos::ui::ConsoleActions</name>
    <message>
        <source>&amp;New job…</source>
        <translation>新建任务(&amp;N)…</translation>
    </message>
    <message>
        <source>Create a job</source>
        <translation>创建一个任务</translation>
    </message>
    <message>
        <source>&amp;Run now</source>
        <translation>立即运行(&amp;R)</translation>
    </message>
    <message>
        <source>Start a run of the selected job now</source>
        <translation>立即运行所选任务一次</translation>
    </message>
    <message>
        <source>&amp;Enable</source>
        <translation>启用(&amp;E)</translation>
    </message>
    <message>
        <source>Let the selected job fire on its schedule</source>
        <translation>让所选任务按计划触发</translation>
    </message>
    <message>
        <source>D&amp;isable</source>
        <translation>停用(&amp;I)</translation>
    </message>
    <message>
        <source>Stop the selected job from firing (runs in progress go on)</source>
        <translation>停止触发所选任务（正在进行的运行不受影响）</translation>
    </message>
    <message>
        <source>&amp;Delete…</source>
        <translation>删除(&amp;D)…</translation>
    </message>
    <message>
        <source>Delete the selected job</source>
        <translation>删除所选任务</translation>
    </message>
    <message>
        <source>&amp;Cancel run</source>
        <translation>取消运行(&amp;C)</translation>
    </message>
    <message>
        <source>Stop the selected run</source>
        <translation>停止所选运行</translation>
    </message>
    <message>
        <source>Re&amp;try run</source>
        <translation>重试运行(&amp;T)</translation>
    </message>
    <message>
        <source>Run the selected finished run again as a new attempt</source>
        <translation>以新的尝试再次执行所选的已结束运行</translation>
    </message>
    <message>
        <source>Re&amp;fresh</source>
        <translation>刷新(&amp;F)</translation>
    </message>
    <message>
        <source>Load jobs and runs again from the server</source>
        <translation>从服务器重新加载任务和运行记录</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Close the console</source>
        <translation>关闭控制台</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <comment>tooltip: description (shortcut)</comment>
        <translation>%1（%2）</translation>
    </message>
</context>
<context>
    <name>kairos::ui::ConsoleCommands</name>
    <message>
        <source>Could not run &quot;%1&quot;: %2</source>
        <translation>无法运行“%1”：%2</translation>
    </message>
    <message>
        <source>Started run #%1 of &quot;%2&quot;</source>
        <translation>已启动“%2”的运行 #%1</translation>
    </message>
    <message numerus="yes">
        <source>Started %n run(s) of &quot;%1&quot;</source>
        <translation>
            <numerusform>已启动“%1”的 %n 次运行</numerusform>
        </translation>
    </message>
    <message>
        <source>Could not enable &quot;%1&quot;: %2</source>
        <translation>无法启用“%1”：%2</translation>
    </message>
    <message>
        <source>Could not disable &quot;%1&quot;: %2</source>
        <translation>无法停用“%1”：%2</translation>
    </message>
    <message>
        <source>Enabled &quot;%1&quot;</source>
        <translation>已启用“%1”</translation>
    </message>
    <message>
        <source>Disabled &quot;%1&quot;</source>
        <translation>已停用“%1”</translation>
    </message>
    <message>
        <source>Could not delete &quot;%1&quot;: %2</source>
        <translation>无法删除“%1”：%2</translation>
    </message>
    <message>
        <source>Deleted &quot;%1&quot;</source>
        <translation>已删除“%1”</translation>
    </message>
    <message>
        <source>Could not cancel run #%1: %2</source>
        <translation>无法取消运行 #%1：%2</translation>
    </message>
    <message>
        <source>Asked run #%1 to stop</source>
        <translation>已请求运行 #%1 停止</translation>
    </message>
    <message>
        <source>Could not retry run #%1: %2</source>
        <translation>无法重试运行 #%1：%2</translation>
    </message>
    <message>
        <source>Retrying run #%1</source>
        <translation>正在重试运行 #%1</translation>
    </message>
</context>
<context>
    <name>kairos::ui::ConsoleOptions</name>
    <message>
        <source>Kairos console: jobs, runs and logs of a Kairos scheduler. Without --remote it runs its own engine and worker on the data folder (local single-node mode).</source>
        <translation>Kairos 控制台：查看和管理 Kairos 调度器的任务、运行记录与日志。不带 --remote 时，它在数据目录上运行自己的引擎和执行器（本地单节点模式）。</translation>
    </message>
    <message>
        <source>Show this help and exit.</source>
        <translation>显示此帮助并退出。</translation>
    </message>
    <message>
        <source>Show the version and exit.</source>
        <translation>显示版本并退出。</translation>
    </message>
    <message>
        <source>Data folder: the local database and admin.password (default %1).</source>
        <translation>数据目录：存放本地数据库和 admin.password（默认 %1）。</translation>
    </message>
    <message>
        <source>DIR</source>
        <translation>目录</translation>
    </message>
    <message>
        <source>Attach to a running kairosd instead of running locally.</source>
        <translation>连接到正在运行的 kairosd，而不是在本地运行。</translation>
    </message>
    <message>
        <source>HOST:PORT</source>
        <translation>主机:端口</translation>
    </message>
    <message>
        <source>Administrator to log in as with --remote (default admin).</source>
        <translation>使用 --remote 时登录的管理员账号（默认 admin）。</translation>
    </message>
    <message>
        <source>NAME</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>With --remote: a file whose first line is the password (default DIR/admin.password).</source>
        <translation>配合 --remote 使用：第一行为密码的文件（默认 目录/admin.password）。</translation>
    </message>
    <message>
        <source>FILE</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Language of the console: %1 (default: the system&apos;s).</source>
        <translation>控制台语言：%1（默认跟随系统）。</translation>
    </message>
    <message>
        <source>LANG</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Local mode: do not accept kairosctl on 127.0.0.1:%1.</source>
        <translation>本地模式：不在 127.0.0.1:%1 上接受 kairosctl 连接。</translation>
    </message>
    <message>
        <source>Save a picture of the window to FILE once jobs and runs are shown, then quit.</source>
        <translation>任务和运行记录显示后，将窗口截图保存到“文件”，然后退出。</translation>
    </message>
    <message>
        <source>unexpected argument &quot;%1&quot;; see --help</source>
        <translation>多余的参数“%1”；请参阅 --help</translation>
    </message>
    <message>
        <source>--data: no default data folder on this system; give --data DIR</source>
        <translation>--data：此系统上没有默认数据目录；请使用 --data 目录 指定</translation>
    </message>
    <message>
        <source>--lang: expected one of %1 but got &quot;%2&quot;</source>
        <translation>--lang：应为 %1 之一，实际为“%2”</translation>
    </message>
    <message>
        <source>--remote: expected HOST:PORT with a port from 1 to 65535, got &quot;%1&quot;</source>
        <translation>--remote：应为 主机:端口，端口范围 1 到 65535，实际为“%1”</translation>
    </message>
    <message>
        <source>--user and --password-file only apply with --remote HOST:PORT</source>
        <translation>--user 和 --password-file 只能与 --remote 主机:端口 一起使用</translation>
    </message>
    <message>
        <source>%1: cannot read the password from %2: %3; give --password-file FILE with the password of &quot;%4&quot; on its first line</source>
        <translation>%1：无法从 %2 读取密码：%3；请用 --password-file 文件 指定一个第一行为“%4”密码的文件</translation>
    </message>
    <message>
        <source>%1: the first line of %2 is empty; expected the password there</source>
        <translation>%1：%2 的第一行为空；该行应为密码</translation>
    </message>
</context>
<context>
    <name>kairos::ui::ErrorBanner</name>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>kairos::ui::InstanceFeed</name>
    <message>
        <source>Could not load the runs: %1</source>
        <translation>无法加载运行记录：%1</translation>
    </message>
</context>
<context>
    <name>kairos::ui::InstanceListModel</name>
    <message>
        <source>job #%1</source>
        <translation>任务 #%1</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <source>Run #%1 of %2</source>
        <translation>%2 的运行 #%1</translation>
    </message>
    <message>
        <source>Reason: %1</source>
        <translation>原因：%1</translation>
    </message>
    <message>
        <source>Result: %1</source>
        <translation>结果：%1</translation>
    </message>
    <message>
        <source>Parameters: %1</source>
        <translation>参数：%1</translation>
    </message>
    <message>
        <source>Run</source>
        <comment>column: instance id</comment>
        <translation>运行</translation>
    </message>
    <message>
        <source>Job</source>
        <translation>任务</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Attempt</source>
        <translation>尝试</translation>
    </message>
    <message>
        <source>Trigger</source>
        <translation>触发方式</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>创建时间</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>开始时间</translation>
    </message>
    <message>
        <source>Finished</source>
        <translation>结束时间</translation>
    </message>
    <message>
        <source>Worker</source>
        <translation>执行器</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
</context>
<context>
    <name>kairos::ui::InstancesPane</name>
    <message>
        <source>No runs yet — select a job and press %1 to run it now</source>
        <translation>还没有运行记录 — 选择一个任务并按 %1 立即运行</translation>
    </message>
    <message>
        <source>Recent runs</source>
        <translation>最近的运行</translation>
    </message>
</context>
<context>
    <name>kairos::ui::JobFeed</name>
    <message>
        <source>Could not load the jobs: %1</source>
        <translation>无法加载任务：%1</translation>
    </message>
</context>
<context>
    <name>kairos::ui::JobListModel</name>
    <message>
        <source>%1: %2</source>
        <comment>timing column: type, expression</comment>
        <translation>%1：%2</translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation>%1 毫秒</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <comment>processor column: kind, detail</comment>
        <translation>%1：%2</translation>
    </message>
    <message>
        <source>Enabled</source>
        <translation>已启用</translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <source>Time zone: %1</source>
        <translation>时区：%1</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Timing</source>
        <translation>定时</translation>
    </message>
    <message>
        <source>Processor</source>
        <translation>处理器</translation>
    </message>
    <message>
        <source>State</source>
        <comment>job column: enabled or disabled</comment>
        <translation>状态</translation>
    </message>
    <message>
        <source>Next fire</source>
        <translation>下次触发</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <comment>timing column: timing, time zone</comment>
        <translation>%1（%2）</translation>
    </message>
</context>
<context>
    <name>kairos::ui::JobsPane</name>
    <message>
        <source>Filter jobs</source>
        <translation>筛选任务</translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <source>Jobs</source>
        <translation>任务</translation>
    </message>
    <message>
        <source>No jobs yet — create one with %1</source>
        <translation>还没有任务 — 按 %1 创建一个</translation>
    </message>
    <message>
        <source>No job matches &quot;%1&quot;</source>
        <translation>没有与“%1”匹配的任务</translation>
    </message>
</context>
<context>
    <name>kairos::ui::Labels</name>
    <message>
        <source>Waiting dispatch</source>
        <translation>等待派发</translation>
    </message>
    <message>
        <source>Waiting for worker</source>
        <translation>等待执行器</translation>
    </message>
    <message>
        <source>Dispatched</source>
        <translation>已派发</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <source>Succeeded</source>
        <translation>成功</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Timed out</source>
        <translation>超时</translation>
    </message>
    <message>
        <source>Canceled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <source>Scheduled</source>
        <translation>定时触发</translation>
    </message>
    <message>
        <source>API</source>
        <comment>trigger: started through the API or by hand</comment>
        <translation>API</translation>
    </message>
    <message>
        <source>Misfire</source>
        <translation>错过补发</translation>
    </message>
    <message>
        <source>Workflow</source>
        <translation>工作流</translation>
    </message>
    <message>
        <source>API only</source>
        <comment>timing type: runs only when asked</comment>
        <translation>仅 API</translation>
    </message>
    <message>
        <source>CRON</source>
        <translation>CRON</translation>
    </message>
    <message>
        <source>Fixed rate</source>
        <translation>固定频率</translation>
    </message>
    <message>
        <source>Fixed delay</source>
        <translation>固定延迟</translation>
    </message>
    <message>
        <source>One shot</source>
        <translation>单次</translation>
    </message>
    <message>
        <source>Shell</source>
        <translation>Shell</translation>
    </message>
    <message>
        <source>HTTP</source>
        <translation>HTTP</translation>
    </message>
    <message>
        <source>Echo</source>
        <translation>Echo</translation>
    </message>
    <message>
        <source>Sleep</source>
        <translation>Sleep</translation>
    </message>
    <message>
        <source>Container</source>
        <translation>容器</translation>
    </message>
</context>
<context>
    <name>kairos::ui::LinkStatusWidget</name>
    <message>
        <source>Attached to %1</source>
        <translation>已连接到 %1</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>连接正常</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Disconnected</source>
        <translation>已断开</translation>
    </message>
    <message>
        <source>Disconnected: %1</source>
        <translation>已断开：%1</translation>
    </message>
</context>
<context>
    <name>kairos::ui::LogPanel</name>
    <message>
        <source>Select a run to see its log.</source>
        <translation>选择一条运行记录以查看其日志。</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>日志</translation>
    </message>
    <message>
        <source>Log of run #%1</source>
        <translation>运行 #%1 的日志</translation>
    </message>
    <message>
        <source>Log of run #%1 (%2)</source>
        <translation>运行 #%1（%2）的日志</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>The log could not be loaded.</source>
        <translation>无法加载日志。</translation>
    </message>
    <message>
        <source>Could not load the log of run #%1: %2</source>
        <translation>无法加载运行 #%1 的日志：%2</translation>
    </message>
    <message>
        <source>No output yet.</source>
        <translation>尚无输出。</translation>
    </message>
</context>
<context>
    <name>kairos::ui::MainWindow</name>
    <message>
        <source>Kairos — %1</source>
        <translation>Kairos — %1</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Job</source>
        <translation>任务(&amp;J)</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <comment>menu of run (instance) commands</comment>
        <translation>运行(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>Commands</source>
        <translation>命令</translation>
    </message>
    <message>
        <source>Created &quot;%1&quot;</source>
        <translation>已创建“%1”</translation>
    </message>
    <message>
        <source>Delete job</source>
        <translation>删除任务</translation>
    </message>
    <message>
        <source>Delete the job &quot;%1&quot;? Its schedule stops; runs already recorded stay in the history.</source>
        <translation>删除任务“%1”？其调度将停止；已记录的运行仍保留在历史中。</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Could not attach to %1: %2</source>
        <translation>无法连接到 %1：%2</translation>
    </message>
    <message numerus="yes">
        <source>%n job(s)</source>
        <translation>
            <numerusform>%n 个任务</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n run(s) shown</source>
        <translation>
            <numerusform>显示 %n 条运行记录</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>kairos::ui::NewJobDialog</name>
    <message>
        <source>New job</source>
        <translation>新建任务</translation>
    </message>
    <message>
        <source>for example nightly-backup</source>
        <translation>例如 nightly-backup</translation>
    </message>
    <message>
        <source>Server&apos;s time zone</source>
        <translation>服务器时区</translation>
    </message>
    <message>
        <source>Create</source>
        <translation>创建</translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation>名称(&amp;N)：</translation>
    </message>
    <message>
        <source>&amp;Processor:</source>
        <translation>处理器(&amp;P)：</translation>
    </message>
    <message>
        <source>&amp;Timing:</source>
        <translation>定时方式(&amp;T)：</translation>
    </message>
    <message>
        <source>&amp;Expression:</source>
        <translation>表达式(&amp;E)：</translation>
    </message>
    <message>
        <source>Time &amp;zone:</source>
        <translation>时区(&amp;Z)：</translation>
    </message>
    <message>
        <source>Script:</source>
        <translation>脚本：</translation>
    </message>
    <message>
        <source>echo &quot;hello&quot;
(runs with /bin/bash -c)</source>
        <translation>echo &quot;hello&quot;
（以 /bin/bash -c 运行）</translation>
    </message>
    <message>
        <source>Message:</source>
        <translation>消息：</translation>
    </message>
    <message>
        <source>text to log and return (empty: the run&apos;s parameters)</source>
        <translation>写入日志并作为结果返回的文本（留空：使用运行参数）</translation>
    </message>
    <message>
        <source>Duration (ms):</source>
        <translation>时长（毫秒）：</translation>
    </message>
    <message>
        <source>URL:</source>
        <translation>URL：</translation>
    </message>
    <message>
        <source>https://example.com/hook (GET)</source>
        <translation>https://example.com/hook（GET 请求）</translation>
    </message>
    <message>
        <source>runs only when started by hand or through the API</source>
        <translation>仅在手动或通过 API 启动时运行</translation>
    </message>
    <message>
        <source>*/5 * * * *  or  0 0 2 * * ?</source>
        <translation>*/5 * * * *  或  0 0 2 * * ?</translation>
    </message>
    <message>
        <source>30s, 5m, 2h or milliseconds</source>
        <translation>30s、5m、2h 或毫秒数</translation>
    </message>
</context>
<context>
    <name>kairos::ui::Translations</name>
    <message>
        <source>--lang: expected one of %1 but got &quot;%2&quot;</source>
        <translation>--lang：应为 %1 之一，实际为“%2”</translation>
    </message>
    <message>
        <source>--lang: the %1 translation is missing from this build</source>
        <translation>--lang：此版本缺少 %1 翻译</translation>
    </message>
</context>
</TS>
