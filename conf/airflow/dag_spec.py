#!/usr/bin/env python3
"""What the lfmcap Airflow DAG will run, without Airflow.

Executes the DAG file with stand-ins for the two Airflow classes it uses (DAG and
SparkSubmitOperator, which accept exactly the keyword arguments the real ones do), applies the DAG's
default_args to its tasks as Airflow does, renders the templated fields with Jinja for one logical
date (``ds``, ``ds_nodash``, ``params``, ``macros.ds_add``, ``macros.ds_format``), and prints the result
as JSON, or with --command the spark-submit command line that SparkSubmitHook builds from it.

  python3 conf/airflow/dag_spec.py --ds 2026-11-27 [--param model=hdfs:///models/other.pte] [--command]

--param overrides a DAG param the way a run's configuration does ("Trigger DAG w/ config"). The
master and deploy mode come from the Airflow connection, not the DAG: give them with --master and
--deploy-mode (defaults: the spark_lfmcap connection the DAG's docstring describes). Needs Jinja2
(Debian: python3-jinja2). Exit status 2 on a DAG this check cannot model or a template it cannot render.
"""
from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import shlex
import sys
import types
from pathlib import Path

DEFAULT_DAG = Path(__file__).with_name("lfmcap_captions_dag.py")

# What the DAG may import: the standard library's datetime and the two Airflow classes modelled here.
ALLOWED_IMPORTS = {
    "__future__": None,
    "datetime": None,
    "airflow": {"DAG"},
    "airflow.providers.apache.spark.operators.spark_submit": {"SparkSubmitOperator"},
}

# SparkSubmitOperator.__init__ keywords (apache-airflow-providers-apache-spark 4.x and 5.x).
SPARK_SUBMIT_ARGS = {
    "application", "conf", "conn_id", "files", "py_files", "archives", "driver_class_path", "jars",
    "java_class", "packages", "exclude_packages", "repositories", "total_executor_cores", "executor_cores",
    "executor_memory", "driver_memory", "keytab", "principal", "proxy_user", "name", "num_executors",
    "status_poll_interval", "application_args", "env_vars", "verbose", "spark_binary", "properties_file",
    "yarn_queue", "deploy_mode", "use_krb5ccache",
}
# Its templated fields (SparkSubmitOperator.template_fields).
TEMPLATE_FIELDS = (
    "application", "conf", "files", "py_files", "jars", "driver_class_path", "packages", "exclude_packages",
    "keytab", "principal", "proxy_user", "name", "application_args", "env_vars", "properties_file",
)
# BaseOperator.__init__ keywords (Airflow 2.4 to 2.10).
BASE_OPERATOR_ARGS = {
    "task_id", "owner", "email", "email_on_retry", "email_on_failure", "retries", "retry_delay",
    "retry_exponential_backoff", "max_retry_delay", "start_date", "end_date", "depends_on_past",
    "ignore_first_depends_on_past", "wait_for_past_depends_before_skipping", "wait_for_downstream", "dag",
    "params", "default_args", "priority_weight", "weight_rule", "queue", "pool", "pool_slots", "sla",
    "execution_timeout", "on_execute_callback", "on_failure_callback", "on_success_callback",
    "on_retry_callback", "on_skipped_callback", "pre_execute", "post_execute", "trigger_rule", "resources",
    "run_as_user", "task_concurrency", "max_active_tis_per_dag", "max_active_tis_per_dagrun",
    "executor_config", "do_xcom_push", "multiple_outputs", "inlets", "outlets", "task_group", "doc",
    "doc_md", "doc_json", "doc_yaml", "doc_rst", "logger_name", "retry_timeout",
}
# DAG.__init__ keywords (Airflow 2.4 to 2.10).
DAG_ARGS = {
    "dag_id", "description", "schedule", "schedule_interval", "timetable", "start_date", "end_date",
    "full_filepath", "template_searchpath", "template_undefined", "user_defined_macros",
    "user_defined_filters", "default_args", "concurrency", "max_active_tasks", "max_active_runs",
    "max_consecutive_failed_dag_runs", "dagrun_timeout", "sla_miss_callback", "default_view", "orientation",
    "catchup", "on_success_callback", "on_failure_callback", "doc_md", "params", "access_control",
    "is_paused_upon_creation", "jinja_environment_kwargs", "render_template_as_native_obj", "tags",
    "owner_links", "auto_register", "fail_stop", "dag_display_name",
}


class DagSpecError(Exception):
    """The DAG cannot be modelled or rendered; the message says where."""


class DAG:
    """Stand-in for airflow.DAG: keeps its arguments and the tasks made inside its ``with`` block."""
    current = None

    def __init__(self, dag_id=None, **kwargs):
        unknown = set(kwargs) - DAG_ARGS
        if unknown:
            raise DagSpecError(f"DAG() got arguments Airflow's DAG does not take: {sorted(unknown)}")
        self.dag_id = dag_id
        self.kwargs = kwargs
        self.tasks = []

    def __enter__(self):
        DAG.current = self
        return self

    def __exit__(self, *exc):
        DAG.current = None
        return False


class SparkSubmitOperator:
    """Stand-in for the Spark provider's operator: checks its keywords, applies default_args."""

    def __init__(self, **kwargs):
        unknown = set(kwargs) - SPARK_SUBMIT_ARGS - BASE_OPERATOR_ARGS
        if unknown:
            raise DagSpecError(f"SparkSubmitOperator() got arguments it does not take: {sorted(unknown)}")
        dag = kwargs.pop("dag", None) or DAG.current
        if dag is None:
            raise DagSpecError(f"task {kwargs.get('task_id')!r} is not inside a DAG")
        defaults = dict(dag.kwargs.get("default_args") or {})
        defaults.update(kwargs.pop("default_args", None) or {})
        # Airflow passes a default_args entry to every operator whose __init__ takes it, unless set on the task.
        self.args = {k: v for k, v in defaults.items() if k in SPARK_SUBMIT_ARGS | BASE_OPERATOR_ARGS}
        self.args.update(kwargs)
        dag.tasks.append(self)


def check_imports(tree: ast.Module, path: Path) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module, a.name) for a in node.names]
        else:
            continue
        for module, name in names:
            if module not in ALLOWED_IMPORTS:
                raise DagSpecError(f"{path}:{node.lineno} imports {module}, which this check does not model")
            allowed = ALLOWED_IMPORTS[module]
            if allowed is not None and name not in allowed:
                raise DagSpecError(f"{path}:{node.lineno} imports {module}.{name}, which this check does not model")


def load_dag(path: Path) -> DAG:
    source = path.read_text()
    tree = ast.parse(source, filename=str(path))
    check_imports(tree, path)
    airflow = types.ModuleType("airflow")
    airflow.DAG = DAG
    spark_submit = types.ModuleType("airflow.providers.apache.spark.operators.spark_submit")
    spark_submit.SparkSubmitOperator = SparkSubmitOperator
    saved = {k: sys.modules.get(k) for k in ("airflow", spark_submit.__name__)}
    sys.modules["airflow"] = airflow
    sys.modules[spark_submit.__name__] = spark_submit
    try:
        namespace = {"__name__": "lfmcap_dag", "__file__": str(path)}
        exec(compile(tree, str(path), "exec"), namespace)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    dags = [v for v in namespace.values() if isinstance(v, DAG)]
    if len(dags) != 1:
        raise DagSpecError(f"{path} defines {len(dags)} DAGs; expected one")
    return dags[0]


def render(value, env, context):
    """Renders strings inside lists and dict values, as BaseOperator.render_template does."""
    if isinstance(value, str):
        return env.from_string(value).render(**context)
    if isinstance(value, (list, tuple)):
        return [render(v, env, context) for v in value]
    if isinstance(value, dict):
        return {k: render(v, env, context) for k, v in value.items()}
    return value


def ds_add(ds: str, days: int) -> str:
    return (dt.date.fromisoformat(ds) + dt.timedelta(days=days)).isoformat()


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    return dt.datetime.strptime(ds, input_format).strftime(output_format)


def spark_submit_command(args: dict, master: str, deploy_mode: str) -> list[str]:
    """The command SparkSubmitHook builds from the operator's (rendered) arguments."""
    cmd = [args.get("spark_binary") or "spark-submit", "--master", master]
    for key, value in (args.get("conf") or {}).items():
        cmd += ["--conf", f"{key}={value}"]
    if args.get("properties_file"):
        cmd += ["--properties-file", args["properties_file"]]
    for arg, flag in (("files", "--files"), ("py_files", "--py-files"), ("archives", "--archives"),
                      ("driver_class_path", "--driver-class-path"), ("jars", "--jars"), ("packages", "--packages"),
                      ("exclude_packages", "--exclude-packages"), ("repositories", "--repositories"),
                      ("num_executors", "--num-executors"), ("total_executor_cores", "--total-executor-cores"),
                      ("executor_cores", "--executor-cores"), ("executor_memory", "--executor-memory"),
                      ("driver_memory", "--driver-memory"), ("keytab", "--keytab"), ("principal", "--principal"),
                      ("proxy_user", "--proxy-user"), ("name", "--name"), ("java_class", "--class")):
        if args.get(arg):
            cmd += [flag, str(args[arg])]
    if args.get("verbose"):
        cmd.append("--verbose")
    if args.get("yarn_queue"):
        cmd += ["--queue", args["yarn_queue"]]
    if args.get("deploy_mode") or deploy_mode:
        cmd += ["--deploy-mode", args.get("deploy_mode") or deploy_mode]
    return cmd + [args["application"]] + [str(a) for a in args.get("application_args") or []]


def seconds(value):
    return value.total_seconds() if isinstance(value, dt.timedelta) else None


def spec(path: Path, ds: str, overrides: dict, master: str, deploy_mode: str) -> dict:
    try:
        import jinja2
    except ImportError:
        raise DagSpecError("Jinja2 is needed to render the DAG's templates: apt-get install python3-jinja2 (Debian) or pip install jinja2")
    dag = load_dag(path)
    params = dict(dag.kwargs.get("params") or {})
    unknown = set(overrides) - set(params)
    if unknown:
        raise DagSpecError(f"--param {sorted(unknown)}: the DAG has no such params (it has {sorted(params)})")
    params.update(overrides)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    context = {"ds": ds, "ds_nodash": ds.replace("-", ""), "params": params, "dag": dag,
               "macros": types.SimpleNamespace(ds_add=ds_add, ds_format=ds_format),
               "run_id": f"scheduled__{ds}T00:00:00+00:00"}
    tasks = []
    for task in dag.tasks:
        args = dict(task.args)
        try:
            for field in TEMPLATE_FIELDS:
                if field in args:
                    args[field] = render(args[field], env, context)
        except jinja2.TemplateError as e:
            raise DagSpecError(f"task {args.get('task_id')!r}: template error: {e}")
        tasks.append({
            "task_id": args.get("task_id"),
            "operator": "SparkSubmitOperator",
            "retries": args.get("retries", 0),
            "retry_delay_s": seconds(args.get("retry_delay")),
            "retry_exponential_backoff": args.get("retry_exponential_backoff", False),
            "max_retry_delay_s": seconds(args.get("max_retry_delay")),
            "execution_timeout_s": seconds(args.get("execution_timeout")),
            "sla_s": seconds(args.get("sla")),
            "conn_id": args.get("conn_id", "spark_default"),
            "application": args.get("application"),
            "java_class": args.get("java_class"),
            "name": args.get("name"),
            "properties_file": args.get("properties_file"),
            "files": args.get("files"),
            "conf": args.get("conf") or {},
            "application_args": [str(a) for a in args.get("application_args") or []],
            "spark_submit": spark_submit_command(args, master, deploy_mode),
        })
    start = dag.kwargs.get("start_date")
    return {
        "dag_id": dag.dag_id,
        "schedule": dag.kwargs.get("schedule", dag.kwargs.get("schedule_interval")),
        "start_date": start.isoformat() if start else None,
        "catchup": dag.kwargs.get("catchup"),
        "max_active_runs": dag.kwargs.get("max_active_runs"),
        "dagrun_timeout_s": seconds(dag.kwargs.get("dagrun_timeout")),
        "ds": ds,
        "params": params,
        "tasks": tasks,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dag", type=Path, default=DEFAULT_DAG, help="the DAG file (default: %(default)s)")
    p.add_argument("--ds", default=dt.date.today().isoformat(), help="the run's logical date, YYYY-MM-DD (default: today)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="override a DAG param")
    p.add_argument("--master", default="yarn", help="the connection's master (default: %(default)s)")
    p.add_argument("--deploy-mode", default="cluster", help="the connection's deploy mode (default: %(default)s)")
    p.add_argument("--command", action="store_true", help="print the spark-submit command line of each task")
    a = p.parse_args(argv)
    try:
        dt.date.fromisoformat(a.ds)
        overrides = {}
        for kv in a.param:
            if "=" not in kv:
                raise DagSpecError(f"--param {kv!r}: expected KEY=VALUE")
            k, v = kv.split("=", 1)
            overrides[k] = v
        result = spec(a.dag, a.ds, overrides, a.master, a.deploy_mode)
    except (DagSpecError, ValueError, SyntaxError) as e:
        print(f"dag_spec: {e}", file=sys.stderr)
        return 2
    if a.command:
        for task in result["tasks"]:
            print(f"# {result['dag_id']}.{task['task_id']} for {a.ds} (connection {task['conn_id']})")
            print(shlex.join(task["spark_submit"]))
    else:
        json.dump(result, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
