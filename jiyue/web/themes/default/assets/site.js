/* Optional enhancements: the 关怀版 switch (kept in localStorage) and read-aloud through the
   browser's own speech synthesis. Pages work fully without this script. */
(function(){
  var root=document.documentElement,toggle=document.querySelector("[data-elder-toggle]"),
      reader=document.querySelector("[data-read-aloud]");
  function on(){return root.classList.contains("elder")}
  function sync(){
    if(toggle){toggle.setAttribute("aria-pressed",on()?"true":"false");toggle.textContent=on()?toggle.dataset.off:toggle.dataset.on}
    if(reader){reader.hidden=!(on()&&"speechSynthesis" in window)}
  }
  if(toggle){
    toggle.dataset.on=toggle.textContent;toggle.dataset.off=toggle.getAttribute("data-off-label")||"\u9000\u51fa\u5173\u6000\u7248";
    toggle.hidden=false;
    toggle.addEventListener("click",function(){
      root.classList.toggle("elder");
      try{localStorage.setItem("jiyue-elder",on()?"1":"0")}catch(e){}
      if(!on()&&"speechSynthesis" in window){speechSynthesis.cancel()}
      sync();
    });
  }
  if(reader){
    reader.addEventListener("click",function(){
      if(speechSynthesis.speaking){speechSynthesis.cancel();return}
      var main=document.getElementById("main"),u=new SpeechSynthesisUtterance(main?main.innerText:document.title);
      u.lang="zh-CN";u.rate=0.9;speechSynthesis.speak(u);
    });
  }
  sync();
})();
