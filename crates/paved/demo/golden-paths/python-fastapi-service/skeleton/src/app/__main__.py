import os

import uvicorn

uvicorn.run("app.main:app", host="0.0.0.0", port=int(os.environ.get("PORT", "8080")), log_config=None, access_log=False)
